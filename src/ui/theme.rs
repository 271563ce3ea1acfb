//! Colours and styles. Colour carries meaning here (severity, connection),
//! so each meaning gets a distinct foreground on the terminal's own
//! background, and the selection is shown by reversing rather than by a
//! background colour that would hide the severity.

use ratatui::style::{Color, Modifier, Style};

use crate::model::Severity;

pub const ALARM: Color = Color::Red;
pub const WARNING: Color = Color::Yellow;
pub const INFO: Color = Color::Cyan;
pub const GOOD: Color = Color::Green;

pub fn severity_color(severity: Severity) -> Color {
    match severity {
        Severity::Alarm => ALARM,
        Severity::Warning => WARNING,
        Severity::Info => INFO,
    }
}

/// A row tinted by its most severe flag; a healthy row keeps the
/// terminal's default colours.
pub fn row_style(worst: Option<Severity>) -> Style {
    match worst {
        Some(severity) => Style::new().fg(severity_color(severity)),
        None => Style::new(),
    }
}

/// Added to the selected row's own style, so its tint survives (reversed,
/// the tint becomes the background).
pub fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
}

/// Column titles and labels.
pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn dim() -> Style {
    Style::new().add_modifier(Modifier::DIM)
}

/// Something an operator should look at now.
pub fn alarm() -> Style {
    Style::new().fg(ALARM).add_modifier(Modifier::BOLD)
}

pub fn warning() -> Style {
    Style::new().fg(WARNING)
}

pub fn good() -> Style {
    Style::new().fg(GOOD)
}
