//! The vocabulary of plugin bindings: the role a plugin plays for a service.

crate::text_enum! {
    /// What a plugin bound to a service does for it.
    pub enum BindingRole ("plugin binding role") {
        /// Decides which tag an update moves to (at most one per service).
        Strategy = "strategy",
        /// Judges the new containers after an update, in order.
        HealthCheck = "health_check",
        /// Is told about the service's updates.
        Notifier = "notifier",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text_enum::assert_round_trips;

    #[test]
    fn spellings_are_the_stored_ones_and_unknown_roles_are_errors() {
        assert_round_trips(BindingRole::ALL);
        let spelled: Vec<&str> = BindingRole::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(spelled, ["strategy", "health_check", "notifier"]);
        // An unknown role is refused, not taken for a notifier.
        assert_eq!(
            "webhook".parse::<BindingRole>().unwrap_err().to_string(),
            "unknown plugin binding role \"webhook\""
        );
        assert!("Notifier".parse::<BindingRole>().is_err());
    }
}
