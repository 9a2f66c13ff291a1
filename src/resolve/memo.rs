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
    /// Resolving it would nest definitions more than [`MAX_DEPTH`] deep. It is now marked as not
    /// resolving; the caller reports it.
    TooDeep,
}

/// How deep definitions may refer to definitions: far beyond what a policy needs, and little
/// enough that resolving them can never exhaust the stack.
pub const MAX_DEPTH: usize = 200;

pub struct Memo<T> {
    state: Vec<State<T>>,
    /// How many definitions are being resolved, one inside the other.
    open: usize,
}

impl<T: Clone> Memo<T> {
    pub fn new(definitions: usize) -> Self {
        Memo {
            state: vec![State::Pending; definitions],
            open: 0,
        }
    }

    pub fn begin(&mut self, index: usize) -> Begin<T> {
        match &self.state[index] {
            State::Done(value) => Begin::Known(value.clone()),
            State::InProgress => {
                self.state[index] = State::Done(None);
                Begin::Cycle
            }
            State::Pending if self.open >= MAX_DEPTH => {
                self.state[index] = State::Done(None);
                Begin::TooDeep
            }
            State::Pending => {
                self.state[index] = State::InProgress;
                self.open += 1;
                Begin::Start
            }
        }
    }

    /// Records the value found, unless a cycle through the definition was found meanwhile, and
    /// returns what stands.
    pub fn end(&mut self, index: usize, value: Option<T>) -> Option<T> {
        self.open -= 1;
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
