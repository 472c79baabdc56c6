//! The `code_enum!` macro: enumerations that travel on the wire either as their
//! name or as their integer code, and whose unknown codes are kept, not rejected.

/// Defines an enumeration with a wire name and an integer code per variant, plus
/// an `Other(i32)` variant that keeps codes this version does not know.
///
/// Generated API: `from_code`, `code`, `from_name` (ASCII case-insensitive),
/// `name`, and `Display` (the name, or the bare code for `Other`).
///
/// `from_name` matches against a local const per variant, named as the
/// variant: a variant may not be named `None` or `Some` (`Option`'s, used
/// there), and a `#[cfg]` on a variant would not reach its const.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A code this version does not know, kept as it came.
            Other(i32),
        }

        impl $name {
            /// Every named variant, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The variant for an integer code; unknown codes become `Other`.
            pub const fn from_code(code: i64) -> Self {
                match code {
                    $( $code => $name::$variant, )+
                    other => $name::Other(other as i32),
                }
            }

            /// The integer code of this variant.
            pub const fn code(self) -> i64 {
                match self {
                    $( $name::$variant => $code, )+
                    $name::Other(code) => code as i64,
                }
            }

            /// The variant named `name` (ASCII case-insensitive), if any.
            #[allow(non_upper_case_globals)] // a const per variant, named as it
            pub fn from_name(name: &[u8]) -> Option<Self> {
                // Exact spelling first: one jump on length and a compare, the
                // common case on the hot path (on the bytes: checking them
                // for UTF-8 first cost more than the match). Then any letter
                // case.
                $( const $variant: &[u8] = $wire.as_bytes(); )+
                match name {
                    $( $variant => return Some($name::$variant), )+
                    _ => {}
                }
                let mut buf = [0; crate::event::code_enum::LONGEST_NAME];
                let lower = crate::event::code_enum::ascii_lowercase(name, &mut buf)?;
                // The wire names in lower case, shadowing the consts above.
                {
                    $( const $variant: &[u8] =
                        &crate::event::code_enum::lowercase::<{ $wire.len() }>($wire); )+
                    match lower {
                        $( $variant => Some($name::$variant), )+
                        _ => None,
                    }
                }
            }

            /// The wire name of this variant; `"Other"` for unknown codes.
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Other(_) => "Other",
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $name::Other(code) => write!(f, "{code}"),
                    known => f.write_str(known.name()),
                }
            }
        }

        // Saved state (checkpoints) keeps the integer code: it is the
        // protocol's own identity of the value, stable across versions.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <i64 as serde::Deserialize>::deserialize(deserializer).map($name::from_code)
            }
        }
    };
}

/// Defines a fieldless enumeration identified on the wire by name only, with an
/// `Other` variant for names this version does not know (never rejected).
macro_rules! name_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A name this version does not know.
            Other,
        }

        impl $name {
            /// Every named variant.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The variant for a wire name (exact spelling first, then any letter case);
            /// unknown names become `Other`.
            #[allow(non_upper_case_globals)] // a const per variant, named as it
            pub fn from_name(name: &[u8]) -> Self {
                $( const $variant: &[u8] = $wire.as_bytes(); )+
                match name {
                    $( $variant => return $name::$variant, )+
                    _ => {}
                }
                let mut buf = [0; crate::event::code_enum::LONGEST_NAME];
                let Some(lower) = crate::event::code_enum::ascii_lowercase(name, &mut buf) else {
                    return $name::Other;
                };
                // The wire names in lower case, shadowing the consts above.
                {
                    $( const $variant: &[u8] =
                        &crate::event::code_enum::lowercase::<{ $wire.len() }>($wire); )+
                    match lower {
                        $( $variant => $name::$variant, )+
                        _ => $name::Other,
                    }
                }
            }

            /// The wire name; `"Other"` for unknown names.
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Other => "Other",
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        // Saved state (checkpoints) keeps the wire name.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                Ok($name::from_name(name.as_bytes()))
            }
        }
    };
}

pub(crate) use {code_enum, name_enum};

/// No wire name is longer (checked when each is lowered, at compile time); a
/// longer name matches none.
pub(crate) const LONGEST_NAME: usize = 64;

/// `name` in ASCII lower case, written into `buf`; `None` if it is too long
/// to be any wire name.
///
/// The letter-case fallback of `from_name` lowers the name once and matches it
/// against the lowered wire names: a jump on the length and one compare, where
/// a case-insensitive compare per variant cost a loop each (and gave fuzzers
/// thousands of byte-by-byte branches to spell their way through).
#[inline]
pub(crate) fn ascii_lowercase<'b>(
    name: &[u8],
    buf: &'b mut [u8; LONGEST_NAME],
) -> Option<&'b [u8]> {
    let lower = buf.get_mut(..name.len())?;
    for (to, from) in lower.iter_mut().zip(name) {
        *to = from.to_ascii_lowercase();
    }
    Some(lower)
}

/// A wire name in ASCII lower case, for the consts `from_name` matches against.
pub(crate) const fn lowercase<const N: usize>(wire: &str) -> [u8; N] {
    assert!(N <= LONGEST_NAME, "a wire name is longer than LONGEST_NAME");
    let bytes = wire.as_bytes();
    let mut out = [0; N];
    let mut i = 0;
    while i < N {
        out[i] = bytes[i].to_ascii_lowercase();
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::LONGEST_NAME;
    use crate::event::{CallType, SdkEvent, TEvent};

    #[test]
    fn names_match_exactly_then_in_any_letter_case_and_nothing_else() {
        assert_eq!(CallType::from_name(b"Inbound"), Some(CallType::Inbound));
        assert_eq!(CallType::from_name(b"iNBOUND"), Some(CallType::Inbound));
        assert_eq!(CallType::from_name(b"Inbound "), None);
        assert_eq!(CallType::from_name(b"Inboun"), None);
        assert_eq!(CallType::from_name(b""), None);
        assert_eq!(CallType::from_name(b"Inb\xffound"), None, "invalid UTF-8 is no name");
        assert_eq!(SdkEvent::from_name(b"Inb\xffound"), SdkEvent::Other);
        for &known in CallType::ALL {
            assert_eq!(CallType::from_name(known.name().as_bytes()), Some(known));
        }
        for &known in SdkEvent::ALL {
            assert_eq!(SdkEvent::from_name(known.name().to_lowercase().as_bytes()), known);
        }
        for &known in TEvent::ALL {
            assert_eq!(TEvent::from_name(known.name().to_uppercase().as_bytes()), Some(known));
            assert_eq!(TEvent::from_name(known.name().to_lowercase().as_bytes()), Some(known));
        }
        let long = [b'a'; LONGEST_NAME + 1];
        assert_eq!(CallType::from_name(&long), None);
        assert_eq!(SdkEvent::from_name(&long), SdkEvent::Other);
        assert_eq!(CallType::from_name("İnbound".as_bytes()), None, "ASCII letters only");
    }
}
