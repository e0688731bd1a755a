//! The clock `strftime_now` reads, and Python's `strftime` directives.

use time::{OffsetDateTime, PrimitiveDateTime};

/// The clock a template's `strftime_now(format)` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system clock, in UTC (transformers reads the local time: on a server whose
    /// time zone is UTC, as containers' are, the two are the same).
    #[default]
    System,
    /// Always this instant (reproducible prompts, tests).
    Fixed(PrimitiveDateTime),
}

impl Clock {
    /// The date and time this clock reads now.
    pub fn now(self) -> PrimitiveDateTime {
        match self {
            Clock::System => {
                let now = OffsetDateTime::now_utc();
                PrimitiveDateTime::new(now.date(), now.time())
            }
            Clock::Fixed(instant) => instant,
        }
    }
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `datetime.strftime(format)` for a naive date-time, as CPython on Linux (glibc, C
/// locale) writes it: the C89 directives, glibc's `%-d`-style unpadded forms, `%e`,
/// `%f`; `%Z` and `%z` are empty (a naive time has no zone). A directive glibc does not
/// know is written as it is.
pub fn strftime(at: PrimitiveDateTime, format: &str) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let unpadded = chars.peek() == Some(&'-');
        if unpadded {
            chars.next();
        }
        let Some(directive) = chars.next() else {
            out.push('%');
            if unpadded {
                out.push('-');
            }
            break;
        };
        let number = |value: u32, width: usize| -> String {
            if unpadded {
                value.to_string()
            } else {
                format!("{value:0width$}")
            }
        };
        let weekday = usize::from(at.weekday().number_days_from_monday());
        let month = usize::from(u8::from(at.month())) - 1;
        let hour12 = match at.hour() % 12 {
            0 => 12,
            hour => hour,
        };
        let written = match directive {
            'a' => WEEKDAYS[weekday][..3].to_owned(),
            'A' => WEEKDAYS[weekday].to_owned(),
            'b' | 'h' => MONTHS[month][..3].to_owned(),
            'B' => MONTHS[month].to_owned(),
            'd' => number(u32::from(at.day()), 2),
            'e' => format!("{:2}", at.day()),
            'm' => number(u32::from(u8::from(at.month())), 2),
            'y' => number(at.year().rem_euclid(100).unsigned_abs(), 2),
            'Y' => at.year().to_string(),
            'H' => number(u32::from(at.hour()), 2),
            'I' => number(u32::from(hour12), 2),
            'M' => number(u32::from(at.minute()), 2),
            'S' => number(u32::from(at.second()), 2),
            'f' => format!("{:06}", at.microsecond()),
            'p' => if at.hour() < 12 { "AM" } else { "PM" }.to_owned(),
            'j' => number(u32::from(at.ordinal()), 3),
            'w' => ((weekday + 1) % 7).to_string(),
            'u' => (weekday + 1).to_string(),
            'D' => strftime(at, "%m/%d/%y"),
            'F' => strftime(at, "%Y-%m-%d"),
            'T' => strftime(at, "%H:%M:%S"),
            'R' => strftime(at, "%H:%M"),
            'c' => strftime(at, "%a %b %e %H:%M:%S %Y"),
            'x' => strftime(at, "%m/%d/%y"),
            'X' => strftime(at, "%H:%M:%S"),
            'n' => "\n".to_owned(),
            't' => "\t".to_owned(),
            'Z' | 'z' => String::new(),
            '%' => "%".to_owned(),
            other => {
                if unpadded {
                    format!("%-{other}")
                } else {
                    format!("%{other}")
                }
            }
        };
        out.push_str(&written);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn writes_the_directives_chat_templates_use() {
        let at = datetime!(2024-09-05 14:07:03.000250);
        assert_eq!(strftime(at, "%d %b %Y"), "05 Sep 2024");
        assert_eq!(strftime(at, "%-d %B %Y"), "5 September 2024");
        assert_eq!(strftime(at, "%A %a %I:%M %p"), "Thursday Thu 02:07 PM");
        assert_eq!(
            strftime(at, "%Y-%m-%dT%H:%M:%S.%f"),
            "2024-09-05T14:07:03.000250"
        );
        assert_eq!(strftime(at, "%j %w %u %y %e|%Z|%z %%"), "249 4 4 24  5|| %");
        assert_eq!(strftime(at, "%c"), "Thu Sep  5 14:07:03 2024");
        assert_eq!(strftime(at, "%Q and a trailing %"), "%Q and a trailing %");
    }

    #[test]
    fn a_fixed_clock_reads_its_instant() {
        let at = datetime!(2024-01-01 00:00:00);
        assert_eq!(Clock::Fixed(at).now(), at);
        assert_eq!(strftime(at, "%I %p"), "12 AM");
    }
}
