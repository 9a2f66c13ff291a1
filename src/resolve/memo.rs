//! Definitions resolved on first use, once, with cycles found: the state both the service and
//! the net resolver keep per definition.

#[derive(Clone)]
enum State<T> {
    Pending,
    InProgress,
    /// `None`: the definition does not resolve (already reported).
    Done(Option<T>),
}

/// What [`Memo::begin`] found.
pub enum Begin<T> {
    /// Resolved before; its value.
    Known(Option<T>),
    /// The definition is being resolved further up: it refers back to itself. It is now marked as
    /// not resolving; the caller reports the cycle.
    Cycle,
    /// Not resolved yet: the caller resolves it and calls [`Memo::end`].
    Start,
}

#[derive(Clone)]
pub struct Memo<T> {
    state: Vec<State<T>>,
}

impl<T: Clone> Memo<T> {
    pub fn new(definitions: usize) -> Self {
        Memo {
            state: vec![State::Pending; definitions],
        }
    }

    pub fn begin(&mut self, index: usize) -> Begin<T> {
        match &self.state[index] {
            State::Done(value) => Begin::Known(value.clone()),
            State::InProgress => {
                self.state[index] = State::Done(None);
                Begin::Cycle
            }
            State::Pending => {
                self.state[index] = State::InProgress;
                Begin::Start
            }
        }
    }

    /// Records the value found, unless a cycle through the definition was found meanwhile, and
    /// returns what stands.
    pub fn end(&mut self, index: usize, value: Option<T>) -> Option<T> {
        if let State::InProgress = self.state[index] {
            self.state[index] = State::Done(value);
        }
        self.get(index).cloned()
    }

    /// The value of a resolved definition.
    pub fn get(&self, index: usize) -> Option<&T> {
        match &self.state[index] {
            State::Done(Some(value)) => Some(value),
            _ => None,
        }
    }
}
