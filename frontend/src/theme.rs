//! Dark or light: the user's choice, kept in local storage and applied as
//! `data-theme` on `<html>`, where the stylesheet's colour variables and the
//! chart (which draws on a canvas, outside CSS) read it. Dark unless the user
//! picked light. `index.html` applies the stored choice before the app
//! loads, so a light page does not flash dark first.

use yew::prelude::*;

/// The local-storage key (also read by the script in `index.html`).
pub const STORAGE_KEY: &str = "sightline.theme";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    #[default]
    Dark,
    Light,
}

impl Theme {
    /// A stored value: `"light"` is light, anything else (nothing, junk) dark.
    pub fn parse(stored: Option<&str>) -> Self {
        match stored.map(str::trim) {
            Some("light") => Theme::Light,
            _ => Theme::Dark,
        }
    }

    /// The value of `data-theme` and of the stored choice.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
        }
    }

    pub fn toggled(self) -> Self {
        match self {
            Theme::Dark => Theme::Light,
            Theme::Light => Theme::Dark,
        }
    }

    /// The stored choice.
    pub fn load() -> Self {
        let stored = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        Self::parse(stored.as_deref())
    }

    /// Stores the choice and applies it to the page.
    pub fn save_and_apply(self) {
        let window = web_sys::window();
        if let Some(s) = window
            .as_ref()
            .and_then(|w| w.local_storage().ok().flatten())
        {
            let _ = s.set_item(STORAGE_KEY, self.as_str());
        }
        self.apply();
    }

    /// Sets `data-theme` on the document element.
    pub fn apply(self) {
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = root.set_attribute("data-theme", self.as_str());
        }
    }
}

/// The theme in use and its setter, for the toggle and the chart.
pub type ThemeContext = UseStateHandle<Theme>;

#[derive(Properties, PartialEq)]
pub struct ThemeToggleProps {
    #[prop_or_default]
    pub id: Option<AttrValue>,
}

/// A button switching between dark and light.
#[function_component(ThemeToggle)]
pub fn theme_toggle(props: &ThemeToggleProps) -> Html {
    let Some(theme) = use_context::<ThemeContext>() else {
        return html! {};
    };
    let next = theme.toggled();
    let onclick = {
        let theme = theme.clone();
        Callback::from(move |_: MouseEvent| {
            next.save_and_apply();
            theme.set(next);
        })
    };
    let (icon, label) = match *theme {
        Theme::Dark => ("☾", "Dark theme: switch to light"),
        Theme::Light => ("☀", "Light theme: switch to dark"),
    };
    html! {
        <button type="button" class="btn icon theme-toggle" id={props.id.clone()} title={label}
            aria-label={label} data-theme={theme.as_str()} {onclick}>
            { icon }
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dark_unless_light_was_chosen() {
        assert_eq!(Theme::parse(None), Theme::Dark);
        assert_eq!(Theme::parse(Some("light")), Theme::Light);
        assert_eq!(Theme::parse(Some(" light\n")), Theme::Light);
        assert_eq!(Theme::parse(Some("dark")), Theme::Dark);
        assert_eq!(Theme::parse(Some("solarized")), Theme::Dark);
        for t in [Theme::Dark, Theme::Light] {
            assert_eq!(Theme::parse(Some(t.as_str())), t);
            assert_eq!(t.toggled().toggled(), t);
            assert_ne!(t.toggled(), t);
        }
    }
}
