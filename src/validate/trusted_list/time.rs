//! The dates of trusted lists: `xsd:dateTime` as Unix seconds.

/// Unix seconds of an `xsd:dateTime` (`2024-05-01T12:00:00Z`, fractions and offsets allowed;
/// no zone means UTC).
#[must_use]
pub fn date_time(value: &str) -> Option<i64> {
    let (date, rest) = value.trim().split_once('T')?;
    let mut ymd = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (ymd.next(), ymd.next(), ymd.next(), ymd.next()) else {
        return None;
    };
    let zone_at = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let offset = match zone {
        "" | "Z" => 0,
        _ => {
            let (sign, hm) = zone.split_at(1);
            let (h, m) = hm.split_once(':')?;
            let secs =
                i64::from(h.parse::<u8>().ok()?) * 3600 + i64::from(m.parse::<u8>().ok()?) * 60;
            if sign == "-" {
                -secs
            } else {
                secs
            }
        }
    };
    let whole = clock.split('.').next()?;
    let mut hms = whole.split(':');
    let (Some(h), Some(mi), Some(s), None) = (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return None;
    };
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let at = time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?)
        .ok()?
        .with_hms(h.parse().ok()?, mi.parse().ok()?, s.parse().ok()?)
        .ok()?
        .assume_utc()
        .unix_timestamp();
    at.checked_sub(offset)
}
