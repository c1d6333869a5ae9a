//! Enums that are stored and sent as text: one `as_str()`, and parsing that refuses unknown
//! values (a stored row with a value this build does not know is an error, never a default).

/// A value that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    /// What was being parsed (`update kind`, `audit action`, …).
    pub what: &'static str,
    /// The text that matched no variant.
    pub value: String,
}

/// Declares a fieldless enum with its text spellings: `as_str`, `ALL`, `Display`, `FromStr`
/// (unknown text is [`UnknownValue`]) and serde/OpenAPI through the same spellings.
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            // `tt`, not `literal`: a `literal` fragment reaches derives wrapped in an invisible
            // group, which utoipa's derive does not read in `#[serde(rename = …)]` (the document
            // then named the variants `Digest`, `Tag` instead of their spellings).
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            ::serde::Serialize, ::serde::Deserialize,
        )]
        #[cfg_attr(feature = "openapi", derive(::utoipa::ToSchema))]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The one spelling of this value (as stored, sent and logged).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::text_enum::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::text_enum::UnknownValue {
                        what: $what,
                        value: s.to_owned(),
                    }),
                }
            }
        }
    };
}

/// Asserts that every variant's spelling parses back to it and is its JSON form (for the tests
/// of each text enum).
#[cfg(test)]
pub(crate) fn assert_round_trips<T>(all: &[T])
where
    T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr,
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    for v in all {
        assert_eq!(v.to_string().parse::<T>().ok(), Some(*v));
        let json = serde_json::to_string(v).unwrap_or_default();
        assert_eq!(json, format!("\"{v}\""));
        assert_eq!(serde_json::from_str::<T>(&json).ok(), Some(*v));
    }
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        /// A test enum.
        pub enum Colour ("colour") {
            /// Red.
            Red = "red",
            /// Dark blue.
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn spellings_round_trip_and_unknown_values_are_errors() {
        for c in Colour::ALL {
            assert_eq!(c.as_str().parse::<Colour>(), Ok(*c));
            let json = serde_json::to_string(c).unwrap_or_default();
            assert_eq!(json, format!("\"{c}\""));
            assert_eq!(serde_json::from_str::<Colour>(&json).ok(), Some(*c));
        }
        let e = "green".parse::<Colour>().unwrap_err();
        assert_eq!(e.to_string(), "unknown colour \"green\"");
        assert!(serde_json::from_str::<Colour>("\"green\"").is_err());
    }

    #[cfg(feature = "openapi")]
    #[test]
    fn the_openapi_schema_lists_the_spellings() {
        let schema =
            serde_json::to_value(<Colour as utoipa::PartialSchema>::schema()).unwrap_or_default();
        assert_eq!(schema["enum"], serde_json::json!(["red", "dark_blue"]));
    }
}
