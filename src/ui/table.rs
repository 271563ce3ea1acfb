//! The table of evaluations: one line per evaluation, tinted by its most
//! severe flag, the sorted column's title marked ▲/▼. Only the visible
//! slice of rows is built, so a frame costs the same with 100,000
//! evaluations as with 50; columns are dropped on narrow terminals in a
//! fixed order of importance.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table, Widget};

use super::{safe, theme};
use crate::model::{EvalRecord, Flag, State, Ts, human_duration};
use crate::view::sort::runtime_ms;
use crate::view::{Column, Row, TableView, status_label};

const DASH: &str = "—";
/// Before the id of a row marked for an action.
const MARK: &str = "● ";
const SPACING: u16 = 1;
const COLUMNS: usize = Column::ALL.len();
/// The id shrinks no further than this before status and flags give way.
const MIN_ID: u16 = 12;

/// What goes first when the terminal is too narrow; the id never goes.
const DROP_ORDER: [Column; 8] = [
    Column::Host,
    Column::Executor,
    Column::Age,
    Column::Exit,
    Column::Container,
    Column::Runtime,
    Column::Status,
    Column::Flags,
];

/// The widest a column grows; longer texts are cut. Flags take what is
/// left, so this is the least room they are worth keeping for.
fn cap(column: Column) -> u16 {
    match column {
        // The platform's ids are 29 wide.
        Column::Id => 32,
        Column::Status => 12,
        Column::Container => 10,
        Column::Executor => 16,
        Column::Host => 12,
        Column::Age => 6,
        Column::Runtime => 14,
        Column::Exit => 5,
        // "! lost-completion": the glyph and the longest name.
        Column::Flags => 17,
    }
}

pub(super) fn render(
    state: &State,
    view: &TableView,
    panes: &super::FindPanes<'_>,
    now: Ts,
    area: Rect,
    buf: &mut Buffer,
) {
    if area.is_empty() {
        return;
    }
    let range = view.visible_range(usize::from(crate::layout::table_body_height(area)));
    let visible = view.rows().range(range.clone());
    // Texts first, so that each column is as wide as what it shows now
    // (within its cap) and the narrow-terminal fit works on real widths.
    let texts: Vec<[Text<'_>; COLUMNS]> = visible
        .clone()
        .map(|row| {
            let record = state.record(&row.id);
            let mut cells = Column::ALL.map(|column| text(column, row, record, now));
            if panes.marks.is_some_and(|marks| marks.contains(&row.id)) {
                // Marked for an action: a visible bullet before the id.
                cells[0].0 = Cow::Owned(format!("{MARK}{}", cells[0].0));
            }
            cells
        })
        .collect();
    let sort = view.sort();
    let titles: [Cow<'static, str>; COLUMNS] = Column::ALL.map(|c| match sort.arrow() {
        Some(arrow) if sort.column == Some(c) => Cow::Owned(format!("{}{arrow}", c.name())),
        _ => Cow::Borrowed(c.name()),
    });
    let mut widths = [0u16; COLUMNS];
    for (i, column) in Column::ALL.into_iter().enumerate() {
        let widest = texts
            .iter()
            .map(|row| Span::raw(&*row[i].0).width())
            .max()
            .unwrap_or(0);
        let widest = u16::try_from(widest).unwrap_or(u16::MAX);
        let title = titles[i].chars().count() as u16;
        widths[i] = widest.clamp(title, cap(column).max(title));
    }
    let sorted = sort.column;
    // One engine: every row would say the same host.
    let chosen: Vec<Column> = panes
        .columns
        .iter()
        .copied()
        .filter(|&c| c != Column::Host || state.engines.len() > 1)
        .collect();
    let columns = fit(area.width, &chosen, &mut widths, sorted);
    let constraints = columns.iter().map(|&c| match c {
        Column::Flags => Constraint::Fill(1),
        c => Constraint::Length(widths[c as usize]),
    });

    let titles = TableRow::new(
        columns
            .iter()
            .map(|&c| Cell::from(titles[c as usize].clone())),
    )
    .style(theme::title());
    let selected = view.selected_index();
    let rows = visible.zip(texts).zip(range).map(|((row, texts), index)| {
        let mut style = theme::row_style(row.worst);
        if selected == Some(index) {
            style = style.patch(theme::selected());
        }
        let mut texts = texts.map(Some);
        let cells = columns.iter().map(move |&c| {
            let (mut text, cell_style) = texts[c as usize].take().unwrap_or_default();
            if c == Column::Id {
                text = tail(text, widths[c as usize]);
            }
            Cell::from(text).style(cell_style.unwrap_or_default())
        });
        TableRow::new(cells.collect::<Vec<_>>()).style(style)
    });
    Table::new(rows, constraints)
        .header(titles)
        .column_spacing(SPACING)
        .render(area, buf);

    if view.is_empty() && area.height > 1 {
        let message = Rect {
            y: area.y + 1,
            height: 1,
            ..area
        };
        let text = match view.hidden() {
            0 => Cow::Borrowed("no evaluations seen yet"),
            hidden => Cow::Owned(format!(
                "no evaluation matches; the filter and quick view hide {hidden}"
            )),
        };
        Paragraph::new(Span::styled(text, theme::dim())).render(message, buf);
    }
}

/// The columns that fit in `width`, dropping the least important first;
/// the `sorted` column goes last, since its order is what the table shows.
/// Before status or flags go, the id gives up room (it is shown by its
/// tail, the part that tells ids apart), down to `MIN_ID`.
/// The columns to draw, in the order chosen (the config's `columns`, the
/// id always first: it names the row), without those that do not fit
/// `width`; the sorted column goes last, since it is what the operator is
/// looking at.
fn fit(
    width: u16,
    chosen: &[Column],
    widths: &mut [u16; COLUMNS],
    sorted: Option<Column>,
) -> Vec<Column> {
    let mut columns = vec![Column::Id];
    columns.extend(chosen.iter().copied().filter(|c| *c != Column::Id));
    let drops = DROP_ORDER
        .into_iter()
        .filter(|&c| Some(c) != sorted)
        .chain(sorted.filter(|&c| c != Column::Id));
    let needed = |columns: &[Column], widths: &[u16; COLUMNS]| -> u32 {
        let cells: u32 = columns.iter().map(|&c| u32::from(widths[c as usize])).sum();
        cells + u32::from(SPACING) * (columns.len() as u32).saturating_sub(1)
    };
    let full_id = widths[Column::Id as usize];
    let width = u32::from(width);
    for drop in drops {
        let mut need = needed(&columns, widths);
        if need <= width {
            break;
        }
        if matches!(drop, Column::Status | Column::Flags) {
            let id = &mut widths[Column::Id as usize];
            let spare = u32::from(id.saturating_sub(MIN_ID));
            let give = spare.min(need - width) as u16;
            *id -= give;
            need -= u32::from(give);
            if need <= width {
                break;
            }
        }
        columns.retain(|&c| c != drop);
    }
    if columns == [Column::Id] {
        // Alone, the id may take the whole line back.
        widths[Column::Id as usize] = full_id.min(u16::try_from(width).unwrap_or(u16::MAX));
    }
    columns
}

/// `text` cut to `width` columns from the left, marked with an ellipsis:
/// the end of an id is what tells it from its neighbours.
fn tail(text: Cow<'_, str>, width: u16) -> Cow<'_, str> {
    let width = usize::from(width);
    let chars = text.chars().count();
    if chars <= width || width == 0 {
        return text;
    }
    let keep: String = text.chars().skip(chars - (width - 1)).collect();
    Cow::Owned(format!("…{keep}"))
}

/// A cell's text, and a style of its own when it must stand out from the
/// row's tint.
type Text<'a> = (Cow<'a, str>, Option<Style>);

fn text<'a>(column: Column, row: &'a Row, record: Option<&'a EvalRecord>, now: Ts) -> Text<'a> {
    let dash = || (Cow::Borrowed(DASH), None);
    let Some(record) = record else {
        // Gone from the state since the last refresh: the id still says
        // which row this is.
        return match column {
            Column::Id => (safe(&row.id), None),
            _ => dash(),
        };
    };
    let plain = |text: Cow<'a, str>| (text, None);
    match column {
        Column::Id => plain(safe(&row.id)),
        Column::Status => plain(status_label(record).map_or(Cow::Borrowed(DASH), Cow::Owned)),
        Column::Container => plain(Cow::Borrowed(
            record.container_state().map_or(DASH, |s| s.name()),
        )),
        Column::Executor => plain(record.executor().map_or(Cow::Borrowed(DASH), safe)),
        Column::Host => plain(
            record
                .engine()
                .map_or(Cow::Borrowed(DASH), |e| safe(e.as_str())),
        ),
        Column::Age => {
            let since = record.started_at().unwrap_or(record.first_seen);
            plain(Cow::Owned(human_duration(now.since(since).max(0))))
        }
        Column::Runtime => runtime(record, &row.flags, now),
        Column::Exit => match record.exit_code() {
            Some(code) => plain(Cow::Owned(code.to_string())),
            None => dash(),
        },
        Column::Flags => {
            let names: Vec<_> = row.flags.iter().map(Flag::label).collect();
            // The most severe flag's glyph first: severity reads without
            // colour.
            match row.flags.first() {
                Some(top) => plain(Cow::Owned(format!(
                    "{} {}",
                    theme::severity_glyph(top.severity()),
                    names.join(", ")
                ))),
                None => plain(Cow::Borrowed("")),
            }
        }
    }
}

/// "12s/30s" while running, "+41s over" past the deadline, the final
/// runtime once the container has ended (the value the sort uses).
fn runtime(record: &EvalRecord, flags: &[Flag], now: Ts) -> Text<'static> {
    let overdue = flags.iter().find_map(|flag| match flag {
        Flag::Overdue { deadline, .. } => Some(*deadline),
        _ => None,
    });
    if let Some(deadline) = overdue {
        // Measured from `now` rather than the refresh, so it ticks with
        // the clock between refreshes.
        let over = human_duration(now.since(deadline).max(0));
        return (Cow::Owned(format!("+{over} over")), Some(theme::alarm()));
    }
    let Some(ms) = runtime_ms(record, now) else {
        return (Cow::Borrowed(DASH), None);
    };
    let running = match record.container_state() {
        Some(state) => state.is_live(),
        None => true,
    };
    let text = match record.timeout_secs() {
        Some(limit) if running => format!(
            "{}/{}",
            human_duration(ms),
            human_duration(i64::from(limit) * 1000)
        ),
        _ => human_duration(ms),
    };
    (Cow::Owned(text), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths() -> [u16; COLUMNS] {
        Column::ALL.map(|c| match c {
            Column::Id => 29,
            Column::Flags => 12,
            _ => 8,
        })
    }

    #[test]
    fn narrow_terminals_drop_executor_age_and_exit_first() {
        let mut w = widths();
        assert_eq!(fit(250, &Column::ALL, &mut w, None), Column::ALL.to_vec());
        let narrower = fit(80, &Column::ALL, &mut widths(), None);
        assert!(!narrower.contains(&Column::Executor) && !narrower.contains(&Column::Age));
        assert!(narrower.contains(&Column::Flags) && narrower.contains(&Column::Status));
        let mut w = widths();
        assert_eq!(fit(5, &Column::ALL, &mut w, None), vec![Column::Id]);
        assert_eq!(w[Column::Id as usize], 5);
    }

    #[test]
    fn the_host_goes_first() {
        // id 29 + flags 12 + seven columns of 8 + 8 spaces = 105.
        let mut w = widths();
        assert_eq!(fit(105, &Column::ALL, &mut w, None), Column::ALL.to_vec());
        let mut w = widths();
        let cols = fit(104, &Column::ALL, &mut w, None);
        let dropped: Vec<Column> = Column::ALL
            .into_iter()
            .filter(|c| !cols.contains(c))
            .collect();
        assert_eq!(dropped, [Column::Host]);
    }

    #[test]
    fn the_id_shrinks_before_status_and_flags_go() {
        let mut w = widths();
        // id 29 + status 8 + flags 12 + 2 spaces = 51.
        assert_eq!(
            fit(51, &Column::ALL, &mut w, None),
            vec![Column::Id, Column::Status, Column::Flags]
        );
        assert_eq!(w[Column::Id as usize], 29);
        let mut w = widths();
        assert_eq!(
            fit(40, &Column::ALL, &mut w, None),
            vec![Column::Id, Column::Status, Column::Flags]
        );
        assert_eq!(w[Column::Id as usize], 18);
        let mut w = widths();
        assert_eq!(
            fit(30, &Column::ALL, &mut w, None),
            vec![Column::Id, Column::Flags]
        );
        assert_eq!(w[Column::Id as usize], 12);
    }

    #[test]
    fn the_sorted_column_is_dropped_last() {
        let with_age = fit(80, &Column::ALL, &mut widths(), Some(Column::Age));
        assert!(with_age.contains(&Column::Age), "{with_age:?}");
        assert!(!with_age.contains(&Column::Executor));
        let mut w = widths();
        assert_eq!(
            fit(30, &Column::ALL, &mut w, Some(Column::Exit)),
            vec![Column::Id, Column::Exit]
        );
        assert_eq!(
            fit(5, &Column::ALL, &mut widths(), Some(Column::Age)),
            vec![Column::Id]
        );
        assert_eq!(
            fit(250, &Column::ALL, &mut widths(), Some(Column::Id)),
            Column::ALL.to_vec()
        );
    }

    #[test]
    fn the_chosen_columns_are_drawn_in_the_order_chosen() {
        let chosen = [Column::Flags, Column::Exit, Column::Status];
        assert_eq!(
            fit(250, &chosen, &mut widths(), None),
            vec![Column::Id, Column::Flags, Column::Exit, Column::Status]
        );
        // The id names the row: it comes first even when not chosen first.
        assert_eq!(
            fit(250, &[Column::Age, Column::Id], &mut widths(), None),
            vec![Column::Id, Column::Age]
        );
    }

    #[test]
    fn ids_are_cut_from_the_left() {
        assert_eq!(
            tail(Cow::Borrowed("eval_20250706_005610_0000eeee"), 10),
            "…_0000eeee"
        );
        assert_eq!(tail(Cow::Borrowed("short"), 10), "short");
        assert_eq!(tail(Cow::Borrowed("short"), 0), "short");
    }
}
