use super::*;

fn console(text: &str) -> LogOutput {
    LogOutput::Console {
        message: text.as_bytes().to_vec().into(),
    }
}

fn split(frames: Vec<LogOutput>) -> Vec<TimedLine> {
    let mut splitter = Splitter::default();
    let mut out = Vec::new();
    for frame in frames {
        splitter.push(frame, &mut out);
    }
    splitter.finish(&mut out);
    out
}

#[test]
fn docker_times_are_taken_off_each_line() {
    let lines = split(vec![console(
        "2026-11-28T02:02:08.463130123Z Before error\r\n2026-11-28T02:02:08.5Z Traceback\r\n",
    )]);
    let at = |s: &str| Ts::parse(s);
    assert_eq!(
        lines,
        vec![
            TimedLine {
                stream: StreamKind::Console,
                at: at("2026-11-28T02:02:08.463Z"),
                text: "Before error".into()
            },
            TimedLine {
                stream: StreamKind::Console,
                at: at("2026-11-28T02:02:08.500Z"),
                text: "Traceback".into()
            },
        ]
    );
}

#[test]
fn a_line_split_across_frames_keeps_its_first_time() {
    let lines = split(vec![
        console("2026-11-28T02:02:08Z part one, "),
        console("2026-11-28T02:02:09Z part two\n"),
    ]);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].text, "part one, part two");
    assert_eq!(lines[0].at, Ts::parse("2026-11-28T02:02:08Z"));
}

#[test]
fn streams_stay_apart_and_hostile_bytes_are_sanitised() {
    let lines = split(vec![
        LogOutput::StdOut {
            message: b"2026-11-28T02:02:08Z out \x1b[31mred\x1b[0m\n"
                .to_vec()
                .into(),
        },
        LogOutput::StdErr {
            message: b"2026-11-28T02:02:08Z err \xff\n".to_vec().into(),
        },
    ]);
    assert_eq!(lines[0].stream, StreamKind::Stdout);
    assert_eq!(lines[0].text, "out red");
    assert_eq!(lines[1].stream, StreamKind::Stderr);
    assert!(lines[1].text.starts_with("err "), "{:?}", lines[1].text);
    assert!(!lines[1].text.chars().any(char::is_control));
}

#[test]
fn a_line_without_a_time_is_kept_as_it_is() {
    let lines = split(vec![console("no stamp here\nlast without newline")]);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].at, None);
    assert_eq!(lines[0].text, "no stamp here");
    assert_eq!(lines[1].text, "last without newline");
}
