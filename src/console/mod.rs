//! The console: the pure application state and its update (keys, dialogs,
//! views, actions), driven by the app loop.

pub mod keymap;
