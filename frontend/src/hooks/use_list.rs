//! A paged list fed by one API query: the first page when the query changes,
//! the next page on "load more", and an in-place refresh of the first page
//! on every auto-refresh tick (merged by `paging`, so rows keep their place
//! and the scroll position stays). Answers to an older query are dropped.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use yew::prelude::*;

use crate::api::ApiError;
use crate::hooks::use_poll::use_poll;
use crate::paging::Paged;
use crate::refresh::PauseReason;

/// One page: items and the cursor of the next.
pub type Page<T> = (Vec<T>, Option<String>);
/// A fetch of one page of `Q` from the cursor.
pub type Fetch<Q, T> =
    fn(Q, Option<String>) -> Pin<Box<dyn Future<Output = Result<Page<T>, ApiError>>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A new query: the first page replaces the list.
    Replace,
    /// A poll: the first page is merged in.
    Refresh,
    /// The next page is appended.
    More,
}

/// The list as the page draws it.
pub struct ListState<T> {
    generation: u64,
    pub page: Paged<T>,
    /// A first page has arrived for the current query.
    pub loaded: bool,
    pub busy: Option<Mode>,
    pub error: Option<ApiError>,
    key: fn(&T) -> String,
}

impl<T: PartialEq> PartialEq for ListState<T> {
    fn eq(&self, o: &Self) -> bool {
        self.generation == o.generation
            && self.page == o.page
            && self.loaded == o.loaded
            && self.busy == o.busy
            && self.error == o.error
    }
}

pub enum Action<T> {
    Begin(Mode),
    Done(u64, Mode, Result<Page<T>, ApiError>),
}

impl<T: Clone> Reducible for ListState<T> {
    type Action = Action<T>;

    fn reduce(self: Rc<Self>, action: Action<T>) -> Rc<Self> {
        let mut s = ListState {
            generation: self.generation,
            page: self.page.clone(),
            loaded: self.loaded,
            busy: self.busy,
            error: self.error.clone(),
            key: self.key,
        };
        match action {
            Action::Begin(mode) => {
                if mode == Mode::Replace {
                    s.generation += 1;
                    s.loaded = false;
                }
                s.busy = Some(mode);
            }
            Action::Done(generation, mode, result) => {
                if generation != s.generation {
                    return self;
                }
                s.busy = None;
                match result {
                    Ok((items, cursor)) => {
                        s.error = None;
                        match mode {
                            Mode::Replace => s.page = Paged::first(items, cursor),
                            Mode::Refresh => s.page.refresh(items, cursor, s.key),
                            Mode::More => s.page.append(items, cursor, s.key),
                        }
                        s.loaded = true;
                    }
                    Err(e) => {
                        if mode == Mode::Replace {
                            s.page = Paged::default();
                        }
                        s.error = Some(e);
                        s.loaded = true;
                    }
                }
            }
        }
        Rc::new(s)
    }
}

/// What [`use_list`] returns.
pub struct ListHandle<T: Clone> {
    pub state: UseReducerHandle<ListState<T>>,
    pub load_more: Callback<()>,
}

/// Runs `fetch` for `query`, and polls it unless `paused` says why not.
#[hook]
pub fn use_list<Q, T>(
    query: Q,
    fetch: Fetch<Q, T>,
    key: fn(&T) -> String,
    paused: Option<PauseReason>,
) -> ListHandle<T>
where
    Q: Clone + PartialEq + 'static,
    T: Clone + PartialEq + 'static,
{
    let state = use_reducer(move || ListState {
        generation: 0,
        page: Paged::default(),
        loaded: false,
        busy: None,
        error: None,
        key,
    });
    let tick = use_poll(paused, state.busy.is_some());
    let last_query = use_mut_ref(|| None::<Q>);
    {
        let state = state.clone();
        use_effect_with((query.clone(), tick), move |(query, _)| {
            let changed = last_query.borrow().as_ref() != Some(query);
            let mode = if changed {
                Mode::Replace
            } else {
                Mode::Refresh
            };
            *last_query.borrow_mut() = Some(query.clone());
            let generation = if changed {
                state.generation + 1
            } else {
                state.generation
            };
            state.dispatch(Action::Begin(mode));
            let fut = fetch(query.clone(), None);
            wasm_bindgen_futures::spawn_local(async move {
                let result = fut.await;
                state.dispatch(Action::Done(generation, mode, result));
            });
        });
    }
    let load_more = {
        let state = state.clone();
        Callback::from(move |()| {
            let Some(cursor) = state.page.next_cursor.clone() else {
                return;
            };
            if state.busy.is_some() {
                return;
            }
            let generation = state.generation;
            state.dispatch(Action::Begin(Mode::More));
            let fut = fetch(query.clone(), Some(cursor));
            let state = state.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = fut.await;
                state.dispatch(Action::Done(generation, Mode::More, result));
            });
        })
    };
    ListHandle { state, load_more }
}
