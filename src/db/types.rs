//! How domain enums are stored: as TEXT in both backends, converted explicitly.

/// Implements `ToSql<Text>` / `FromSql<Text>` for every backend on a type that has
/// `as_str(&self) -> &'static str` and `FromStr`. Generic over the backend, so it also
/// serves the `MultiConnection` backend.
#[macro_export]
macro_rules! text_sql_type {
    ($ty:ty) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                text.parse::<$ty>()
                    .map_err(|_| format!("unknown {} value '{}'", stringify!($ty), text).into())
            }
        }
    };
}

/// Declares a closed set of coded values: each variant has its stored code and the label a
/// person reads. Gives `ALL`, `as_str`, `label`, `FromStr`, `Display`, serde as the code, and
/// the TEXT column mapping.
#[macro_export]
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = ($code:literal, $label:literal) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            pub fn as_str(&self) -> &'static str {
                match self { $( $name::$variant => $code ),+ }
            }

            pub fn label(&self) -> &'static str {
                match self { $( $name::$variant => $label ),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $( $code => Ok($name::$variant), )+ _ => Err(()) }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(|_| serde::de::Error::custom(format!("unknown value '{s}'")))
            }
        }

        $crate::text_sql_type!($name);
    };
}

/// One instant written into many rows by a bulk load (an import's `created_at` and
/// `updated_at`), as a timestamp. SQLite stores timestamps as text, and diesel formats a
/// `NaiveDateTime` again, into a new string, for every row it binds; this is formatted once
/// ([`Stamp::new`], the same text diesel writes) and bound by reference. PostgreSQL binds the
/// instant itself.
#[derive(Debug, Clone)]
pub struct Stamp {
    at: chrono::NaiveDateTime,
    text: String,
}

impl Stamp {
    pub fn new(at: chrono::NaiveDateTime) -> Self {
        // diesel's own format for SQLite timestamps.
        let text = at.format("%F %T%.f").to_string();
        Self { at, text }
    }

    /// What a row holds: a reference, so binding it copies nothing.
    pub fn get(&self) -> StampRef<'_> {
        StampRef(self)
    }
}

/// A [`Stamp`] as a row's field.
#[derive(Debug, Clone, Copy, diesel::AsExpression)]
#[diesel(sql_type = diesel::sql_types::Timestamp)]
pub struct StampRef<'a>(&'a Stamp);

impl diesel::serialize::ToSql<diesel::sql_types::Timestamp, diesel::sqlite::Sqlite>
    for StampRef<'_>
{
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
    ) -> diesel::serialize::Result {
        out.set_value(self.0.text.as_str());
        Ok(diesel::serialize::IsNull::No)
    }
}

impl diesel::serialize::ToSql<diesel::sql_types::Timestamp, diesel::pg::Pg> for StampRef<'_> {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
    ) -> diesel::serialize::Result {
        diesel::serialize::ToSql::<diesel::sql_types::Timestamp, diesel::pg::Pg>::to_sql(
            &self.0.at, out,
        )
    }
}

/// A timestamp as read from a row, for the columns read most (a referral's, a person's, the
/// caseload list's sort keys): fields declare `#[diesel(deserialize_as = At)]` and stay
/// `NaiveDateTime`.
///
/// SQLite stores timestamps as text, and diesel decodes each with chrono's format parser,
/// which reads its format string anew every time: about a tenth of the caseload list's CPU on
/// a million referrals (BENCHMARKS.md). The text diesel writes, `YYYY-MM-DD HH:MM:SS` with an
/// optional fraction of up to nine digits, is decoded here directly ([`parse_stamp`]);
/// anything else falls back to diesel's own decoding, so every value diesel accepts still
/// reads the same. PostgreSQL sends the instant itself and is decoded by diesel.
#[derive(Debug, Clone, Copy, diesel::FromSqlRow)]
pub struct At(pub chrono::NaiveDateTime);

impl From<At> for chrono::NaiveDateTime {
    fn from(at: At) -> Self {
        at.0
    }
}

impl diesel::deserialize::FromSql<diesel::sql_types::Timestamp, crate::db::MultiBackend> for At {
    fn from_sql(value: crate::db::MultiRawValue<'_>) -> diesel::deserialize::Result<Self> {
        use diesel::deserialize::FromSql;
        use diesel::sql_types::Timestamp;
        match value {
            crate::db::MultiRawValue::Sqlite(mut v) => match parse_stamp(v.read_text()) {
                Some(at) => Ok(At(at)),
                None => {
                    <chrono::NaiveDateTime as FromSql<Timestamp, diesel::sqlite::Sqlite>>::from_sql(
                        v,
                    )
                    .map(At)
                }
            },
            crate::db::MultiRawValue::Pg(v) => {
                <chrono::NaiveDateTime as FromSql<Timestamp, diesel::pg::Pg>>::from_sql(v).map(At)
            }
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS`, optionally followed by `.` and one to nine digits, as a valid date
/// and time; `None` for anything else (the caller then tries the other forms).
pub fn parse_stamp(text: &str) -> Option<chrono::NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(num(&b[0..4])? as i32, num(&b[5..7])?, num(&b[8..10])?)?;
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            num(digits)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    date.and_hms_nano_opt(num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?, nanos)
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::Stamp;
    use crate::db::{DatabaseUrl, DbConn, connect};

    diesel::table! {
        stamps (id) {
            id -> Integer,
            at -> Timestamp,
        }
    }

    /// A new SQLite database holding the empty `stamps` table (kept while the directory is).
    fn stamps_database() -> (tempfile::TempDir, DbConn) {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite {
            path: dir.path().join("s.db").to_string_lossy().into_owned(),
        };
        let mut c = connect(&url).unwrap();
        diesel::sql_query("CREATE TABLE stamps (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL)")
            .execute(&mut c)
            .unwrap();
        (dir, c)
    }

    #[test]
    fn a_stamp_is_stored_as_diesel_stores_the_instant_and_reads_back_the_same() {
        let (_dir, mut c) = stamps_database();
        let DbConn::Sqlite(inner) = &mut c else {
            unreachable!()
        };
        for (id, at) in [
            (1, crate::clock::now()),
            (
                3,
                chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
                    .unwrap()
                    .and_hms_opt(3, 4, 5)
                    .unwrap(),
            ),
        ] {
            let stamp = Stamp::new(at);
            diesel::insert_into(stamps::table)
                .values((stamps::id.eq(id), stamps::at.eq(stamp.get())))
                .execute(inner)
                .unwrap();
            diesel::insert_into(stamps::table)
                .values((stamps::id.eq(id + 1), stamps::at.eq(at)))
                .execute(inner)
                .unwrap();
            let read: Vec<chrono::NaiveDateTime> = stamps::table
                .filter(stamps::id.eq_any([id, id + 1]))
                .select(stamps::at)
                .load(inner)
                .unwrap();
            assert_eq!(read, [at, at]);
        }
        let texts: Vec<(i32, String)> = diesel::sql_query("SELECT id, at FROM stamps ORDER BY id")
            .load::<Text>(inner)
            .unwrap()
            .into_iter()
            .map(|t| (t.id, t.at))
            .collect();
        assert_eq!(texts[0].1, texts[1].1, "the same text as diesel writes");
        assert_eq!(texts[2].1, texts[3].1);
    }

    #[derive(QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        id: i32,
        #[diesel(sql_type = diesel::sql_types::Text)]
        at: String,
    }

    #[test]
    fn a_timestamp_is_read_back_as_written_whichever_way_it_is_decoded() {
        let (_dir, mut c) = stamps_database();
        let at = crate::clock::now();
        // Written by diesel, and in forms diesel reads but does not write.
        diesel::insert_into(stamps::table)
            .values((stamps::id.eq(1), stamps::at.eq(at)))
            .execute(&mut c)
            .unwrap();
        diesel::sql_query(
            "INSERT INTO stamps VALUES (2, '2026-01-02T03:04:05'), (3, '2026-01-02 03:04')",
        )
        .execute(&mut c)
        .unwrap();
        let read: Vec<super::At> = stamps::table
            .order(stamps::id)
            .select(stamps::at)
            .load(&mut c)
            .unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        assert_eq!(
            read.into_iter()
                .map(Into::into)
                .collect::<Vec<chrono::NaiveDateTime>>(),
            [
                at,
                day.and_hms_opt(3, 4, 5).unwrap(),
                day.and_hms_opt(3, 4, 0).unwrap()
            ]
        );
    }

    #[test]
    fn parse_stamp_refuses_what_is_not_a_valid_instant_in_diesels_form() {
        for text in [
            "",
            "2026-01-02",
            "2026-01-02T03:04:05",
            "2026-02-30 03:04:05",
            "2026-01-02 24:00:00",
            "2026-01-02 03:04:05.",
            "2026-01-02 03:04:05.1234567890",
            "2026-01-02 03:04:05Z",
            "2026-01-02 03:04:05+01:00",
            "2026-0a-02 03:04:05",
            "2026-01-02 03:04:0\u{e9}",
        ] {
            assert_eq!(super::parse_stamp(text), None, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_stamp_reads_every_instant_as_diesel_writes_it(
            // Years 0 to 9999: the four-digit years `%F` writes.
            secs in -62_167_219_200i64..253_402_300_800,
            nanos in 0u32..1_000_000_000,
        ) {
            let at = chrono::DateTime::from_timestamp(secs, nanos).unwrap().naive_utc();
            let text = at.format("%F %T%.f").to_string();
            proptest::prop_assert_eq!(super::parse_stamp(&text), Some(at));
        }

        #[test]
        fn parse_stamp_never_panics(text in "\\PC{0,40}") {
            let _ = super::parse_stamp(&text);
        }
    }
}
