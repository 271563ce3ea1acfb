//! A scroll offset bounded by the last frame drawn: the console moves it,
//! the renderer (which alone lays the text out) says how far it can go.

/// Lines scrolled off the top of a view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scroll {
    offset: u16,
}

impl Scroll {
    pub fn offset(self) -> u16 {
        self.offset
    }

    /// The offset as drawn when `max` is how far the view can scroll.
    pub fn shown(self, max: u16) -> u16 {
        self.offset.min(max)
    }

    /// Moves `delta` lines from where the view is drawn, no further than
    /// `max` (`None` before the view was first drawn: unbounded, and the
    /// renderer clamps).
    pub fn by(&mut self, delta: i32, max: Option<u16>) {
        let max = max.unwrap_or(u16::MAX);
        let moved = i32::from(self.shown(max)).saturating_add(delta);
        self.offset = u16::try_from(moved.clamp(0, i32::from(max))).unwrap_or(0);
    }

    pub fn top(&mut self) {
        self.offset = 0;
    }

    /// To the end: `max`, or the end whatever it is when not yet drawn.
    pub fn bottom(&mut self, max: Option<u16>) {
        self.offset = max.unwrap_or(u16::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_from_where_it_is_drawn_and_stays_in_bounds() {
        let mut scroll = Scroll::default();
        scroll.bottom(None);
        assert_eq!(scroll.shown(7), 7);
        scroll.by(-1, Some(7));
        assert_eq!(scroll.offset(), 6, "one up from the bottom as drawn");
        scroll.by(100, Some(7));
        assert_eq!(scroll.offset(), 7);
        scroll.by(-100, Some(7));
        assert_eq!(scroll.offset(), 0);
        scroll.by(3, None);
        assert_eq!(scroll.offset(), 3);
    }
}
