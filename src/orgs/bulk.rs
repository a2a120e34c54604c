//! Bulk enrolment: many employees at once from a CSV file, and making a newly created account
//! a member at once.
//!
//! The file (RFC 4180: comma-separated, fields optionally in double quotes with `""` for a
//! quote, CRLF or LF line ends, UTF-8, an optional byte-order mark) starts with the header
//!
//! ```text
//! username,given_name,family_name,email,roles,sign_on_behalf,use_seal,anonymous
//! ```
//!
//! Roles are separated by `;`; the three switches are `yes`/`no`, `true`/`false` or `1`/`0`
//! (empty is no). Parsing is bounded: at most [`MAX_ROWS`] rows, each physical line at most
//! [`MAX_LINE`] bytes. A file that is not CSV (an unterminated quote, text after a closing
//! quote, a wrong header, over a bound) is refused whole, naming the line; a row that is CSV
//! but not a usable member (a wrong number of fields, a bad switch or role, a missing name, a
//! username seen on an earlier row) is refused alone, and the other rows go on.

use std::collections::BTreeMap;

use super::{new_pseudonym, pseudonym, roles, subject, Cvr, Error, Grants, Orgs};
use crate::audit::{Context, Event};
use crate::keys::Owner;
use crate::store::MemberRow;
use crate::types::PersonId;

/// The most rows (members) one file may hold.
pub const MAX_ROWS: usize = 5000;
/// The longest physical line, bytes.
pub const MAX_LINE: usize = 1024;
/// The header, field by field.
pub const HEADER: [&str; 8] = [
    "username",
    "given_name",
    "family_name",
    "email",
    "roles",
    "sign_on_behalf",
    "use_seal",
    "anonymous",
];

/// A row that is a usable member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line the row starts on (the header is line 1).
    pub line: usize,
    /// Login name: an existing account is invited, another one is created.
    pub username: String,
    /// Given name (for a new account and its certificates).
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// E-mail address as given (checked, not kept: qsign sends no mail).
    pub email: String,
    /// Roles, checked, sorted, without repeats.
    pub roles: Vec<String>,
    /// `sign_on_behalf`, `use_seal` and anonymity (never the administrator role).
    pub grants: Grants,
}

/// A row that is refused, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The line the row starts on.
    pub line: usize,
    /// The username as given (may be empty).
    pub username: String,
    /// Why, in words.
    pub reason: String,
}

/// Parses a bulk enrolment file into its rows, each usable or refused.
///
/// # Errors
/// [`Error::Invalid`] naming the line, for a body that is not such a CSV file or is over a
/// bound.
pub fn parse(body: &[u8]) -> Result<Vec<Result<Row, Refused>>, Error> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let line = body
            .get(..e.valid_up_to())
            .map_or(1, |b| 1 + b.iter().filter(|c| **c == b'\n').count());
        Error::Invalid(format!("line {line}: the file is not UTF-8 text"))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let records = records(text)?;
    let mut records = records.into_iter();
    let Some((_, header)) = records.next() else {
        return Err(Error::Invalid(format!(
            "line 1: the file is empty; it starts with the header {}",
            HEADER.join(",")
        )));
    };
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    if names != HEADER {
        return Err(Error::Invalid(format!(
            "line 1: the header must be {}",
            HEADER.join(",")
        )));
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (line, fields) in records {
        let row = row(line, &fields).and_then(|row| match seen.get(&row.username.to_lowercase()) {
            Some(first) => Err(Refused {
                line,
                username: row.username,
                reason: format!("the username is on line {first} already"),
            }),
            None => {
                seen.insert(row.username.to_lowercase(), line);
                Ok(row)
            }
        });
        out.push(row);
    }
    Ok(out)
}

/// The records of the text, each with the line it starts on; blank lines left out.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, Error> {
    let invalid = |line: usize, what: &str| Error::Invalid(format!("line {line}: {what}"));
    let mut out: Vec<(usize, Vec<String>)> = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    // Where the record started, whether its current field is quoted, whether that field's
    // closing quote was seen, and whether the record has anything at all.
    let (mut start, mut line, mut line_len) = (1_usize, 1_usize, 0_usize);
    let (mut quoted, mut closed, mut any) = (false, false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\n' && c != '\r' {
            line_len = line_len.saturating_add(c.len_utf8());
            if line_len > MAX_LINE {
                return Err(invalid(line, &format!("longer than {MAX_LINE} bytes")));
            }
        }
        if quoted && !closed {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => closed = true,
                '\n' => {
                    field.push(c);
                    line += 1;
                    line_len = 0;
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(std::mem::take(&mut field));
                (quoted, closed, any) = (false, false, true);
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if any || !field.trim().is_empty() || quoted {
                    fields.push(std::mem::take(&mut field));
                    out.push((start, std::mem::take(&mut fields)));
                    if out.len() > MAX_ROWS + 1 {
                        return Err(invalid(start, &format!("more than {MAX_ROWS} rows")));
                    }
                }
                field.clear();
                line += 1;
                (start, line_len) = (line, 0);
                (quoted, closed, any) = (false, false, false);
            }
            '"' if !quoted && field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            '"' => return Err(invalid(line, "a quote inside a field that is not quoted")),
            c if closed && !c.is_whitespace() => {
                return Err(invalid(line, "text after a closing quote"));
            }
            _ if closed => {}
            c => field.push(c),
        }
    }
    if quoted && !closed {
        return Err(invalid(start, "a quoted field is not closed"));
    }
    if any || !field.trim().is_empty() || quoted {
        fields.push(field);
        out.push((start, fields));
        if out.len() > MAX_ROWS + 1 {
            return Err(invalid(start, &format!("more than {MAX_ROWS} rows")));
        }
    }
    Ok(out)
}

/// One record as a member, or why not.
fn row(line: usize, fields: &[String]) -> Result<Row, Refused> {
    let username = fields
        .first()
        .map(|u| u.trim().to_owned())
        .unwrap_or_default();
    let refuse = |reason: String| Refused {
        line,
        username: username.clone(),
        reason,
    };
    let [_, given_name, family_name, email, named, sign_on_behalf, use_seal, anonymous] = fields
    else {
        return Err(refuse(format!(
            "{} fields where {} are needed",
            fields.len(),
            HEADER.len()
        )));
    };
    if username.is_empty() {
        return Err(refuse("the username is empty".to_owned()));
    }
    let name = |what: &str, value: &str| {
        let value = value.trim();
        if value.is_empty() || value.len() > 128 || value.chars().any(char::is_control) {
            Err(refuse(format!("{what}: 1 to 128 characters")))
        } else {
            Ok(value.to_owned())
        }
    };
    let given_name = name("given_name", given_name.as_str())?;
    let family_name = name("family_name", family_name.as_str())?;
    let email = email.trim();
    if !email.is_empty()
        && (email.len() > 254
            || email.matches('@').count() != 1
            || email.chars().any(|c| c.is_control() || c.is_whitespace()))
    {
        return Err(refuse("email: not an e-mail address".to_owned()));
    }
    let switch = |what: &str, value: &str| match value.trim().to_lowercase().as_str() {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" | "" => Ok(false),
        _ => Err(refuse(format!("{what}: yes or no (true/false, 1/0)"))),
    };
    let named: Vec<String> = named
        .split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    let roles = roles::canonical(&named).map_err(|e| refuse(format!("roles: {e}")))?;
    let grants = Grants {
        admin: false,
        sign_on_behalf: switch("sign_on_behalf", sign_on_behalf.as_str())?,
        use_seal: switch("use_seal", use_seal.as_str())?,
        anonymous: switch("anonymous", anonymous.as_str())?,
    };
    Ok(Row {
        line,
        username,
        given_name,
        family_name,
        email: email.to_owned(),
        roles,
        grants,
    })
}

impl Orgs {
    /// Makes a person a member at once, with `grants` and `roles`: bulk enrolment of an
    /// account the administrator just had created (an existing account is invited instead,
    /// so that its owner consents). With `sign_on_behalf` the employee credential is issued
    /// (under a pseudonym when `grants.anonymous`).
    ///
    /// # Errors
    /// As [`Orgs::admin_of`]; [`Error::Invalid`] for someone who is a member already;
    /// [`Error::InvalidRole`]; store, credential and audit failures.
    #[allow(
        clippy::too_many_arguments,
        reason = "the request's parts, each needed"
    )]
    pub async fn enrol(
        &self,
        caller: &PersonId,
        cvr: &Cvr,
        member: &Owner,
        grants: Grants,
        named: &[String],
        ctx: &Context,
        now: i64,
    ) -> Result<MemberRow, Error> {
        self.admin_of(caller, cvr).await?;
        let org = self.organisation(cvr).await?;
        let person = member.id.to_string();
        if self.store.member(cvr.as_str(), &person).await?.is_some() {
            return Err(Error::Invalid("a member already".to_owned()));
        }
        let row = MemberRow {
            cvr: org.cvr.clone(),
            person,
            username: String::new(),
            given_name: String::new(),
            family_name: String::new(),
            admin: grants.admin,
            sign_on_behalf: grants.sign_on_behalf,
            use_seal: grants.use_seal,
            joined_at: now,
            mac: None,
            anonymous: grants.anonymous,
            pseudonym: grants.anonymous.then(new_pseudonym),
        };
        let row = self.tagged(row).await?;
        let given = self.tagged_roles(&org.cvr, &member.id, named, now).await?;
        let mut tx = self.store.begin().await?;
        tx.upsert_member(&row).await?;
        let mut entries = vec![ctx.entry(
            subject(&org.cvr),
            Event::MemberJoined {
                cvr: org.cvr.clone(),
                person: member.id,
                admin: row.admin,
            },
        )];
        entries.extend(roles::insert_roles(&mut tx, &given, member.id, ctx).await?);
        self.audit
            .append_many_and_commit(tx, &entries, now.saturating_mul(1000))
            .await?;
        if row.sign_on_behalf {
            self.ensure_employee(member, &org, pseudonym(&row), ctx, now)
                .await?;
        }
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "username,given_name,family_name,email,roles,sign_on_behalf,use_seal,anonymous\n";

    fn parsed(body: &str) -> Vec<Result<Row, Refused>> {
        parse(body.as_bytes()).unwrap()
    }

    fn refusal(body: &str) -> String {
        match parse(body.as_bytes()) {
            Err(Error::Invalid(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rows_are_read_with_quotes_roles_and_switches() {
        let rows = parsed(&format!(
            "{HEAD}karen,Karen,Blixen,karen@example.dk,director;board,yes,no,0\r\n\
             \r\n\
             bror,\"Bror, von\",\"Blixen \"\"the baron\"\"\",,\"board; chair\",1,TRUE,yes\n"
        ));
        assert_eq!(rows.len(), 2);
        let karen = rows[0].clone().unwrap();
        assert_eq!(karen.line, 2);
        assert_eq!(karen.roles, ["board", "director"]);
        assert!(karen.grants.sign_on_behalf && !karen.grants.use_seal);
        assert!(!karen.grants.anonymous && !karen.grants.admin);
        let bror = rows[1].clone().unwrap();
        assert_eq!(bror.line, 4, "the blank line counts");
        assert_eq!(bror.given_name, "Bror, von");
        assert_eq!(bror.family_name, "Blixen \"the baron\"");
        assert_eq!(bror.roles, ["board", "chair"]);
        assert!(bror.grants.use_seal && bror.grants.anonymous);
    }

    #[test]
    fn a_bad_row_is_refused_alone() {
        let rows = parsed(&format!(
            "{HEAD}a,A,Aa,,,maybe,no,no\nb,B\nc,C,Cc,,Director,no,no,no\n,D,Dd,,,no,no,no\n\
             a,A,Aa,,,no,no,no\ne,E,Ee,not-mail,,no,no,no\nf,F,Ff,,,no,no,no\n"
        ));
        let reasons: Vec<String> = rows
            .iter()
            .map(|r| match r {
                Ok(row) => format!("ok {}", row.line),
                Err(e) => format!("{} {}", e.line, e.reason),
            })
            .collect();
        assert!(reasons[0].starts_with("2 sign_on_behalf"), "{reasons:?}");
        assert!(reasons[1].starts_with("3 2 fields"), "{reasons:?}");
        assert!(reasons[2].starts_with("4 roles"), "{reasons:?}");
        assert!(
            reasons[3].starts_with("5 the username is empty"),
            "{reasons:?}"
        );
        assert_eq!(
            reasons[4], "ok 6",
            "the first a was refused, so this one counts"
        );
        assert!(reasons[5].starts_with("7 email"), "{reasons:?}");
        assert_eq!(reasons[6], "ok 8");
    }

    #[test]
    fn a_file_that_is_not_csv_is_refused_naming_the_line() {
        assert!(refusal("user,name\n").starts_with("line 1: the header"));
        assert!(refusal("").starts_with("line 1"));
        let unclosed = refusal(&format!("{HEAD}a,A,Aa,,,no,no,no\nb,\"B,Bb,,,no,no,no\n"));
        assert!(unclosed.starts_with("line 3: a quoted field"), "{unclosed}");
        let stray = refusal(&format!("{HEAD}a,A\"x,Aa,,,no,no,no\n"));
        assert!(stray.starts_with("line 2: a quote"), "{stray}");
        let after = refusal(&format!("{HEAD}a,\"A\"x,Aa,,,no,no,no\n"));
        assert!(after.starts_with("line 2: text after"), "{after}");
        let long = refusal(&format!("{HEAD}{}\n", "x".repeat(MAX_LINE + 10)));
        assert!(long.starts_with("line 2: longer"), "{long}");
        let many: String = (0..=MAX_ROWS)
            .map(|i| format!("u{i},A,B,,,no,no,no\n"))
            .collect();
        let over = refusal(&format!("{HEAD}{many}"));
        assert!(
            over.contains(&format!("more than {MAX_ROWS} rows")),
            "{over}"
        );
        assert!(refusal("username\u{0}\u{ff}").starts_with("line 1"));
        assert!(matches!(parse(b"\xff\xfe"), Err(Error::Invalid(_))));
    }

    #[test]
    fn exactly_the_bounds_are_accepted() {
        let many: String = (0..MAX_ROWS)
            .map(|i| format!("u{i},A,B,,,no,no,no\n"))
            .collect();
        assert_eq!(parsed(&format!("{HEAD}{many}")).len(), MAX_ROWS);
        let name = "x".repeat(MAX_LINE - "u,,B,,,no,no,no".len());
        let line = format!("u,{name},B,,,no,no,no");
        assert_eq!(line.len(), MAX_LINE);
        assert!(parsed(&format!("{HEAD}{line}\n")).len() == 1);
    }
}
