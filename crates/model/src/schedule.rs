//! The vocabulary of update schedules: how often, on which day, and what a due run does.

crate::text_enum! {
    /// How often a schedule runs.
    pub enum Frequency ("schedule frequency") {
        /// Every day at the time of day.
        Daily = "daily",
        /// Once a week, on the schedule's weekday.
        Weekly = "weekly",
    }
}

crate::text_enum! {
    /// The day of a weekly schedule.
    pub enum Weekday ("weekday") {
        /// Monday.
        Mon = "mon",
        /// Tuesday.
        Tue = "tue",
        /// Wednesday.
        Wed = "wed",
        /// Thursday.
        Thu = "thu",
        /// Friday.
        Fri = "fri",
        /// Saturday.
        Sat = "sat",
        /// Sunday.
        Sun = "sun",
    }
}

crate::text_enum! {
    /// What a due run does.
    pub enum ScheduleMode ("schedule mode") {
        /// Check, then update when something changed.
        Update = "update",
        /// Check and report only.
        Check = "check",
    }
}

impl From<Weekday> for chrono::Weekday {
    fn from(d: Weekday) -> Self {
        match d {
            Weekday::Mon => chrono::Weekday::Mon,
            Weekday::Tue => chrono::Weekday::Tue,
            Weekday::Wed => chrono::Weekday::Wed,
            Weekday::Thu => chrono::Weekday::Thu,
            Weekday::Fri => chrono::Weekday::Fri,
            Weekday::Sat => chrono::Weekday::Sat,
            Weekday::Sun => chrono::Weekday::Sun,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text_enum::assert_round_trips as round_trip;

    #[test]
    fn spellings_are_the_stored_and_sent_ones() {
        round_trip(Frequency::ALL);
        round_trip(Weekday::ALL);
        round_trip(ScheduleMode::ALL);
        let spelled: Vec<&str> = Weekday::ALL.iter().map(|d| d.as_str()).collect();
        assert_eq!(spelled, ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
        assert_eq!(Frequency::ALL.len(), 2);
        assert_eq!(
            (ScheduleMode::Update.as_str(), ScheduleMode::Check.as_str()),
            ("update", "check")
        );
        assert_eq!(chrono::Weekday::from(Weekday::Sun), chrono::Weekday::Sun);
    }

    /// The OpenAPI document offers the same spellings.
    #[cfg(feature = "openapi")]
    #[test]
    fn the_openapi_schema_offers_the_spellings() {
        let schema = serde_json::to_value(<Frequency as utoipa::PartialSchema>::schema())
            .unwrap_or_default();
        assert_eq!(schema["enum"], serde_json::json!(["daily", "weekly"]));
    }

    #[test]
    fn unknown_spellings_are_errors() {
        assert_eq!(
            "hourly".parse::<Frequency>().unwrap_err().to_string(),
            "unknown schedule frequency \"hourly\""
        );
        assert!("Mon".parse::<Weekday>().is_err());
        assert!("monday".parse::<Weekday>().is_err());
        // No fallback to `update`: an unknown mode is refused.
        assert!("upgrade".parse::<ScheduleMode>().is_err());
        assert!(serde_json::from_str::<ScheduleMode>("\"\"").is_err());
    }
}
