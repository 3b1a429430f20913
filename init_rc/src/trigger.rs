//! Action triggers: `on <t> [&& <t>]*` with at most one event trigger and any number of
//! property conditions `property:<name>=<value>` (`*` = any value), and the matching rules
//! of AOSP's `Action::CheckEvent` / `CheckPropertyTriggers`:
//!
//! - an event action runs for an event when the event name matches and every property
//!   condition holds;
//! - a property-only action runs when one of its properties is set to a matching value
//!   (`*` matches any value for the property being set) and every other condition holds
//!   (`*` there needs a non-empty value);
//! - the "all properties" boot event runs every property-only action whose conditions all
//!   hold.

/// A parsed trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The event trigger, if any (`boot`, `late-init`, …).
    pub event: Option<String>,
    /// Property conditions `(name, value)` in written order; value `*` means "any".
    pub props: Vec<(String, String)>,
}

impl Trigger {
    /// Parses the arguments after `on`. Errors are AOSP's messages.
    pub fn parse(args: &[String]) -> Result<Trigger, String> {
        if args.is_empty() {
            return Err("actions must have a trigger".into());
        }
        let mut event = None;
        let mut props: Vec<(String, String)> = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            if i % 2 == 1 {
                if arg != "&&" {
                    return Err("&& is the only symbol allowed to concatenate actions".into());
                }
                continue;
            }
            if let Some(rest) = arg.strip_prefix("property:") {
                let Some((name, value)) = rest.split_once('=') else {
                    return Err(format!(
                        "property trigger found without matching '=' in '{arg}'"
                    ));
                };
                if name.is_empty() {
                    return Err(format!("empty property name in trigger '{arg}'"));
                }
                if props.iter().any(|(n, _)| n == name) {
                    return Err(format!(
                        "multiple property triggers found for same property '{name}'"
                    ));
                }
                props.push((name.to_string(), value.to_string()));
            } else if event.is_some() {
                return Err("multiple event triggers are not allowed".into());
            } else {
                event = Some(arg.clone());
            }
        }
        if args.len().is_multiple_of(2) {
            return Err("trigger must not end with &&".into());
        }
        Ok(Trigger { event, props })
    }

    /// True when the event `name` fires this action given the current properties.
    pub fn matches_event(&self, name: &str, get: &dyn Fn(&str) -> Option<String>) -> bool {
        self.event.as_deref() == Some(name) && self.conditions_hold(None, get)
    }

    /// True when setting property `name` to `value` fires this (property-only) action.
    pub fn matches_property(
        &self,
        name: &str,
        value: &str,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> bool {
        if self.event.is_some() {
            return false;
        }
        match self.props.iter().find(|(n, _)| n == name) {
            Some((_, want)) if want == "*" || want == value => {
                self.conditions_hold(Some(name), get)
            }
            _ => false,
        }
    }

    /// True for a property-only action whose conditions all hold now (the boot-time
    /// "queue all property triggers" pass).
    pub fn matches_all_properties(&self, get: &dyn Fn(&str) -> Option<String>) -> bool {
        self.event.is_none() && self.conditions_hold(None, get)
    }

    fn conditions_hold(&self, skip: Option<&str>, get: &dyn Fn(&str) -> Option<String>) -> bool {
        self.props.iter().all(|(n, want)| {
            if Some(n.as_str()) == skip {
                return true;
            }
            let have = get(n).unwrap_or_default();
            if want == "*" {
                !have.is_empty()
            } else {
                *want == have
            }
        })
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        if let Some(e) = &self.event {
            f.write_str(e)?;
            first = false;
        }
        for (n, v) in &self.props {
            if !first {
                f.write_str(" && ")?;
            }
            write!(f, "property:{n}={v}")?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn t(s: &str) -> Result<Trigger, String> {
        let args: Vec<String> = s.split_whitespace().map(String::from).collect();
        Trigger::parse(&args)
    }

    fn props(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        move |n: &str| m.get(n).cloned()
    }

    #[test]
    fn parses_event_and_properties() {
        let tr = t("boot && property:a=b && property:c=*").unwrap();
        assert_eq!(tr.event.as_deref(), Some("boot"));
        assert_eq!(tr.props.len(), 2);
        assert_eq!(tr.to_string(), "boot && property:a=b && property:c=*");
        // `=` in the value is kept.
        let tr = t("property:x=a=b").unwrap();
        assert_eq!(tr.props[0], ("x".into(), "a=b".into()));
    }

    #[test]
    fn rejects_malformed() {
        assert!(t("").is_err());
        assert!(t("boot init").is_err());
        assert!(t("boot && init").is_err());
        assert!(t("boot &&").is_err());
        assert!(t("property:a").is_err());
        assert!(t("property:=1").is_err());
        assert!(t("property:a=1 && property:a=2").is_err());
        assert!(t("boot || property:a=1").is_err());
    }

    #[test]
    fn event_matching_checks_conditions() {
        let tr = t("boot && property:a=1").unwrap();
        assert!(tr.matches_event("boot", &props(&[("a", "1")])));
        assert!(!tr.matches_event("boot", &props(&[("a", "2")])));
        assert!(!tr.matches_event("init", &props(&[("a", "1")])));
        assert!(!tr.matches_property("a", "1", &props(&[("a", "1")])));
    }

    #[test]
    fn property_matching() {
        let tr = t("property:a=1 && property:c=*").unwrap();
        let p = props(&[("c", "x")]);
        assert!(tr.matches_property("a", "1", &p));
        assert!(!tr.matches_property("a", "2", &p));
        assert!(!tr.matches_property("a", "1", &props(&[("c", "")])));
        assert!(tr.matches_property("c", "", &props(&[("a", "1")])));
        assert!(!tr.matches_property("zzz", "1", &p));
        assert!(tr.matches_all_properties(&props(&[("a", "1"), ("c", "y")])));
        assert!(!tr.matches_all_properties(&props(&[("a", "1")])));
    }
}
