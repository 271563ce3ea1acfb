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

/// Under `NO_COLOR` (set and not empty, as no-color.org says), every
/// colour of meaning is the terminal's own: severity then reads from the
/// glyphs and the words alone.
pub const NO_PALETTE: Palette = Palette {
    alarm: Color::Reset,
    warning: Color::Reset,
    info: Color::Reset,
    good: Color::Reset,
};

static NO_COLOR: OnceLock<bool> = OnceLock::new();

/// `NO_COLOR` is set (read once).
pub fn no_color() -> bool {
    *NO_COLOR.get_or_init(|| std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()))
}

pub fn palette() -> Palette {
    if no_color() {
        return NO_PALETTE;
    }
    PALETTE.get().copied().unwrap_or(DEFAULT_PALETTE)
}

/// A severity as a glyph, so that it reads without colour: `!` alarm,
/// `~` warning, `i` info (ASCII: one column in every terminal and locale).
pub fn severity_glyph(severity: Severity) -> &'static str {
    match severity {
        Severity::Alarm => "!",
        Severity::Warning => "~",
        Severity::Info => "i",
    }
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
