//! Attribute lists as key/value tables; values are shown as text.

use shared::KeyValue;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct AttributesProps {
    pub attrs: Vec<KeyValue>,
    #[prop_or_default]
    pub empty: Option<AttrValue>,
}

/// A two-column table of attributes, sorted by key.
#[function_component(Attributes)]
pub fn attributes(props: &AttributesProps) -> Html {
    if props.attrs.is_empty() {
        return html! { <div class="muted small">{ props.empty.clone().unwrap_or_else(|| "none".into()) }</div> };
    }
    let mut attrs: Vec<&KeyValue> = props.attrs.iter().collect();
    attrs.sort_by(|a, b| a.key.cmp(&b.key));
    html! {
        <table class="kv">
            <tbody>
                { for attrs.into_iter().map(|kv| {
                    let value = crate::format::value_text(&kv.value);
                    let multi = value.contains('\n');
                    html! {
                        <tr>
                            <th class="mono">{ kv.key.clone() }</th>
                            <td class="mono">
                                if multi { <pre class="pre">{ value }</pre> } else { { value } }
                            </td>
                        </tr>
                    }
                }) }
            </tbody>
        </table>
    }
}
