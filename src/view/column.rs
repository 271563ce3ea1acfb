//! The table's columns: one type for what the table draws, what it sorts
//! by, what the config may choose and in which order, and the keys of the
//! sort menu.

use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    Id,
    Status,
    Container,
    Executor,
    /// The Docker engine (executor host) that holds the container.
    Host,
    Age,
    Runtime,
    Exit,
    Flags,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::Id,
        Column::Status,
        Column::Container,
        Column::Executor,
        Column::Host,
        Column::Age,
        Column::Runtime,
        Column::Exit,
        Column::Flags,
    ];

    /// Its title, and its name in the config's `columns`.
    pub fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Status => "status",
            Column::Container => "container",
            Column::Executor => "executor",
            Column::Host => "host",
            Column::Age => "age",
            Column::Runtime => "runtime",
            Column::Exit => "exit",
            Column::Flags => "flags",
        }
    }

    pub fn parse(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Its key in the sort menu (after the sort command).
    pub fn sort_key(self) -> char {
        match self {
            Column::Id => 'i',
            Column::Status => 's',
            Column::Container => 'c',
            Column::Executor => 'e',
            Column::Host => 'h',
            Column::Age => 'a',
            Column::Runtime => 'r',
            Column::Exit => 'x',
            Column::Flags => 'f',
        }
    }

    /// Largest first on the first press: what an operator hunts for is the
    /// oldest, the longest, the worst.
    pub fn starts_descending(self) -> bool {
        matches!(
            self,
            Column::Age | Column::Runtime | Column::Exit | Column::Flags
        )
    }
}

/// The sort menu's key for the default order (flags first, newest first).
pub const DEFAULT_ORDER_KEY: char = 'd';

/// What a key of the sort menu chooses: a column, or `Some(None)` for the
/// default order; `None` for a key the menu does not have.
pub fn sort_choice(key: char) -> Option<Option<Column>> {
    if key == DEFAULT_ORDER_KEY {
        return Some(None);
    }
    Column::ALL
        .into_iter()
        .find(|c| c.sort_key() == key)
        .map(Some)
}

/// "i id · s status · … · d default", from the columns themselves.
pub fn sort_menu() -> String {
    let mut menu = String::new();
    for column in Column::ALL {
        let _ = write!(menu, "{} {} · ", column.sort_key(), column.name());
    }
    let _ = write!(menu, "{DEFAULT_ORDER_KEY} default");
    menu
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sort_keys_are_unique_and_read_back() {
        for column in Column::ALL {
            assert_eq!(Column::parse(column.name()), Some(column));
            assert_eq!(sort_choice(column.sort_key()), Some(Some(column)));
        }
        assert_eq!(sort_choice('d'), Some(None));
        assert_eq!(sort_choice('z'), None);
        assert_eq!(
            sort_menu(),
            "i id · s status · c container · e executor · h host · a age · r runtime · x exit · f flags · d default"
        );
    }
}
