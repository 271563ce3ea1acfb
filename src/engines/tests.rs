use super::*;

#[test]
fn a_spec_is_read_with_or_without_its_name() {
    let cases = [
        (
            "exec-1=unix:///var/run/docker.sock",
            "exec-1",
            "unix:///var/run/docker.sock",
        ),
        (
            "exec-2=tcp://10.0.0.12:2375",
            "exec-2",
            "tcp://10.0.0.12:2375",
        ),
        ("tcp://10.0.0.12:2375", "10.0.0.12", "tcp://10.0.0.12:2375"),
        (
            "http://user:pw@host-3:2375/",
            "host-3",
            "http://user:pw@host-3:2375/",
        ),
        (
            "unix:///run/docker.sock",
            "local",
            "unix:///run/docker.sock",
        ),
        ("/run/docker.sock", "local", "unix:///run/docker.sock"),
        (" b = unix:///tmp/b.sock ", "b", "unix:///tmp/b.sock"),
    ];
    for (text, name, url) in cases {
        let spec = parse_spec(text, "--docker").unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            (spec.name.as_str(), spec.url.as_str()),
            (name, url),
            "{text}"
        );
    }
}

#[test]
fn a_bad_spec_is_refused_naming_the_flag_and_the_value() {
    for text in [
        "exec-1=ftp://x",
        "=tcp://h:1",
        "a b=tcp://h:1",
        "unix://relative",
        "tcp://",
        "",
    ] {
        let err = parse_spec(text, "--docker").expect_err(text);
        assert!(
            err.starts_with(&format!("--docker {:?}", text.trim())),
            "{err}"
        );
    }
}

#[test]
fn two_engines_of_one_name_are_refused() {
    let flags = vec!["a=tcp://h1:2375".to_string(), "a=tcp://h2:2375".to_string()];
    let err = resolve(&flags, &[], None).unwrap_err();
    assert!(err.contains("--docker") && err.contains("\"a\""), "{err}");
    // Two bare URLs on one host share a name: also refused.
    let flags = vec!["tcp://h:1".to_string(), "tcp://h:2".to_string()];
    assert!(resolve(&flags, &[], None).is_err());
}

#[test]
fn flags_win_then_the_config_then_docker_host_then_the_local_socket() {
    let config = vec![from_parts(Some("c"), "tcp://c:1").unwrap()];
    let flags = vec!["f=tcp://f:1".to_string()];
    let names = |engines: Vec<EngineSpec>| -> Vec<String> {
        engines.iter().map(|e| e.name.to_string()).collect()
    };
    assert_eq!(
        names(resolve(&flags, &config, Some("tcp://d:1")).unwrap()),
        ["f"]
    );
    assert_eq!(
        names(resolve(&[], &config, Some("tcp://d:1")).unwrap()),
        ["c"]
    );
    assert_eq!(names(resolve(&[], &[], Some("tcp://d:1")).unwrap()), ["d"]);
    let local = resolve(&[], &[], None).unwrap();
    assert_eq!(
        (local[0].name.as_str(), local[0].url.as_str()),
        ("local", LOCAL_SOCKET)
    );
    assert!(
        resolve(&[], &[], Some("ftp://x"))
            .unwrap_err()
            .starts_with("DOCKER_HOST")
    );
}

#[test]
fn the_url_shown_hides_a_password() {
    let spec = parse_spec("x=tcp://user:secret@h:2375", "--docker").unwrap();
    assert!(
        !spec.redacted_url().contains("secret"),
        "{}",
        spec.redacted_url()
    );
}
