//! Colours and styles. Colour carries meaning here (severity, connection),
//! so each meaning gets a distinct foreground on the terminal's own
//! background, and the selection is shown by reversing rather than by a
//! background colour that would hide the severity.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};

use crate::model::Severity;

/// The colours of meaning; the config file's `[colors]` may change them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    pub alarm: Color,
    pub warning: Color,
    pub info: Color,
    pub good: Color,
}

pub const DEFAULT_PALETTE: Palette = Palette {
    alarm: Color::Red,
    warning: Color::Yellow,
    info: Color::Cyan,
    good: Color::Green,
};

/// Set once at startup, before the first frame; read by every draw.
static PALETTE: OnceLock<Palette> = OnceLock::new();

/// Installs the colours named in the config (names already checked by the
/// config's parser). Only the first call counts.
pub fn set_palette(colors: &BTreeMap<String, String>) {
    let pick = |name: &str, default: Color| {
        colors
            .get(name)
            .and_then(|value| value.parse::<Color>().ok())
            .unwrap_or(default)
    };
    let palette = Palette {
        alarm: pick("alarm", DEFAULT_PALETTE.alarm),
        warning: pick("warning", DEFAULT_PALETTE.warning),
        info: pick("info", DEFAULT_PALETTE.info),
        good: pick("good", DEFAULT_PALETTE.good),
    };
    // A second call (tests) keeps the first palette.
    let _ = PALETTE.set(palette);
}

pub fn palette() -> Palette {
    PALETTE.get().copied().unwrap_or(DEFAULT_PALETTE)
}

pub fn severity_color(severity: Severity) -> Color {
    let palette = palette();
    match severity {
        Severity::Alarm => palette.alarm,
        Severity::Warning => palette.warning,
        Severity::Info => palette.info,
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
    Style::new()
        .fg(palette().alarm)
        .add_modifier(Modifier::BOLD)
}

pub fn warning() -> Style {
    Style::new().fg(palette().warning)
}

pub fn good() -> Style {
    Style::new().fg(palette().good)
}
