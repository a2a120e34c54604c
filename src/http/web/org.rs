//! Business administration: an administrator sees the members with their rights, roles and
//! anonymity, sets the rule of representation, gives and takes roles, invites (anonymously,
//! with roles), grants and revokes `sign_on_behalf` and `use_seal`, decides members' requests,
//! and reads the organisation's audit trail and the powers of attorney it granted and holds
//! (revoking them). A member sees their organisations (rights, roles,
//! pseudonym, pending requests, signatures made), asks for a right or a role, and leaves;
//! people join with an invitation code. Changes need a High session (the service says so with
//! `insufficient_loa`, shown as a page that points to the step-up).

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

use super::errors::on_page;
use super::{Chrome, Problem, Row, Session, SignedIn, Texts};
use crate::service::{
    rfc3339, Error, ErrorCode, Grants, ListedMandate, Loa, Organisations as Orgs, Right,
};

page_chrome!(OrgsPage, OrgPage);

/// An organisation in the member's list.
#[derive(Debug, Clone)]
struct OrgItem {
    cvr: String,
    name: String,
    /// Administrator: the name links to the administration page.
    admin: bool,
    rights: String,
    roles: String,
    /// The pseudonym an anonymous member's certificates show.
    pseudonym: Option<String>,
    /// What the member asked for and is not decided yet.
    pending: String,
    /// How many signatures the member made for the organisation.
    signatures: usize,
}

#[derive(Template)]
#[template(path = "orgs.html")]
struct OrgsPage<'a> {
    chrome: Chrome<'a>,
    message: Option<String>,
    orgs: Vec<OrgItem>,
}

/// `GET /org`: the caller's organisations, asking for a right or a role, leaving, and joining
/// one.
pub async fn list(
    SignedIn(orgs, session): SignedIn<Arc<Orgs>>,
    Query(done): Query<Done>,
) -> Result<Response, Error> {
    let t = session.web.t;
    let message = match done.done.as_str() {
        "requested" => Some(t.msg_requested.to_owned()),
        "left" => Some(t.msg_left.to_owned()),
        _ => None,
    };
    let orgs = orgs
        .own_organisations(&session.principal)
        .await?
        .into_iter()
        .map(|o| {
            let m = &o.member;
            let mut rights = Vec::new();
            if m.admin {
                rights.push(t.admin);
            }
            if m.sign_on_behalf {
                rights.push("sign_on_behalf");
            }
            if m.use_seal {
                rights.push("use_seal");
            }
            OrgItem {
                admin: m.admin,
                rights: rights.join(", "),
                roles: o.roles.join(", "),
                pseudonym: m.pseudonym.clone().filter(|_| m.anonymous),
                pending: o
                    .requests
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                signatures: o.signatures.len(),
                cvr: o.organisation.cvr,
                name: o.organisation.name,
            }
        })
        .collect();
    Ok(session.web.render(&OrgsPage {
        chrome: session.chrome(),
        message,
        orgs,
    }))
}

/// An invitation code.
#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    code: String,
}

/// `POST /org/accept`
pub async fn accept(
    SignedIn(orgs, session): SignedIn<Arc<Orgs>>,
    axum::Form(form): axum::Form<AcceptForm>,
) -> Result<Response, Error> {
    let (code, request_id) = (form.code.trim(), session.request_id());
    let org = orgs
        .accept_invitation(&session.principal, code, request_id)
        .await?;
    Ok(Redirect::to(&format!("/org?joined={}", org.cvr)).into_response())
}

/// A member as the administration page shows them.
#[derive(Debug, Clone)]
struct MemberItem {
    person: String,
    username: String,
    name: String,
    admin: bool,
    sign_on_behalf: bool,
    use_seal: bool,
    roles: Vec<String>,
    /// An anonymous member's pseudonym (administrators see who it is).
    pseudonym: Option<String>,
}

/// A pending request as the administration page shows it.
#[derive(Debug, Clone)]
struct RequestItem {
    id: String,
    /// The member's name and username.
    who: String,
    /// `right sign_on_behalf`, `role board`.
    what: String,
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage<'a> {
    chrome: Chrome<'a>,
    cvr: String,
    name: String,
    high: bool,
    message: Option<String>,
    mandates: Vec<MandateItem>,
    rule: Option<String>,
    members: Vec<MemberItem>,
    requests: Vec<RequestItem>,
    audit: Vec<Row>,
    /// A refused invitation, and the username it was for.
    problem: Option<Problem>,
    invitee: String,
}

/// A power of attorney on the organisation's page.
#[derive(Debug, Clone)]
struct MandateItem {
    id: String,
    /// "Granted to" or "Received from", in the reader's language.
    direction: &'static str,
    /// The other party: an organisation (with its CVR) or a person.
    party: String,
    scope: String,
    /// RFC 3339 (the page's script shows them in the reader's time zone).
    valid_from: String,
    valid_until: String,
    state: String,
    /// The members it is assigned to (usernames).
    assigned: String,
    /// Still in force or open: either side may revoke it.
    revocable: bool,
}

impl MandateItem {
    fn new(t: &Texts, cvr: &str, m: &ListedMandate) -> Self {
        let granted = m.row.grantor_cvr == cvr;
        let party = if granted {
            match (&m.row.grantee_cvr, &m.grantee_username) {
                (Some(holder), _) => format!("{} (CVR {holder})", m.grantee_name),
                (None, Some(username)) => format!("{} ({username})", m.grantee_name),
                (None, None) => m.grantee_name.clone(),
            }
        } else {
            format!("{} (CVR {})", m.grantor_name, m.row.grantor_cvr)
        };
        let assigned: Vec<&str> = m.assignments.iter().map(|a| a.username.as_str()).collect();
        Self {
            id: m.row.id.clone(),
            direction: if granted {
                t.mandate_granted_to
            } else {
                t.mandate_received_from
            },
            party,
            scope: m.row.scope.clone(),
            valid_from: rfc3339(m.row.valid_from),
            valid_until: rfc3339(m.row.valid_until),
            state: m.row.state.clone(),
            assigned: assigned.join(", "),
            revocable: ["offered", "requested", "active"].contains(&m.row.state.as_str()),
        }
    }
}

/// What happened, for the message on the page.
#[derive(Debug, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

async fn render_org(
    orgs: &Orgs,
    session: &Session,
    cvr: &str,
    message: Option<String>,
) -> Result<Response, Error> {
    render_org_with(orgs, session, cvr, message, None).await
}

/// The administration page, after a refused invitation with the error summary (`problem`:
/// the problem and the username the invitation was for).
async fn render_org_with(
    orgs: &Orgs,
    session: &Session,
    cvr: &str,
    message: Option<String>,
    problem: Option<(Problem, String)>,
) -> Result<Response, Error> {
    let members: Vec<MemberItem> = orgs
        .members_with_roles(&session.principal, cvr)
        .await?
        .into_iter()
        .map(|(m, roles)| MemberItem {
            name: format!("{} {}", m.given_name, m.family_name),
            pseudonym: m.pseudonym.clone().filter(|_| m.anonymous),
            person: m.person,
            username: m.username,
            admin: m.admin,
            sign_on_behalf: m.sign_on_behalf,
            use_seal: m.use_seal,
            roles,
        })
        .collect();
    let org = orgs
        .my_organisations(&session.principal)
        .await?
        .into_iter()
        .find(|(o, _)| o.cvr == cvr)
        .ok_or_else(|| {
            Error::new(
                ErrorCode::Forbidden,
                "you are not a member of this organisation",
            )
        })?;
    if !org.1.admin {
        return Err(Error::new(
            ErrorCode::Forbidden,
            "only the organisation's administrators see this page",
        ));
    }
    let mandates = orgs
        .organisation_mandates(&session.principal, cvr)
        .await?
        .iter()
        .map(|m| MandateItem::new(session.web.t, cvr.trim(), m))
        .collect();
    let rule = orgs
        .organisation_rule(&session.principal, cvr)
        .await?
        .map(|r| r.as_str().to_owned());
    let requests = orgs
        .pending_requests(&session.principal, cvr)
        .await?
        .into_iter()
        .map(|r| {
            let who = members.iter().find(|m| m.person == r.person).map_or_else(
                || r.person.clone(),
                |m| format!("{} ({})", m.name, m.username),
            );
            RequestItem {
                what: format!("{} {}", r.kind, r.name),
                id: r.id,
                who,
            }
        })
        .collect();
    let audit = orgs
        .organisation_audit(&session.principal, cvr, 100)
        .await?
        .iter()
        .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.record).ok())
        .map(|v| Row::from_record(session.web.t, &v))
        .collect();
    let (problem, invitee) = problem.map_or((None, String::new()), |(p, u)| (Some(p), u));
    let page = OrgPage {
        chrome: session.chrome(),
        cvr: org.0.cvr,
        name: org.0.name,
        high: session.principal.loa >= Loa::High,
        message,
        rule,
        members,
        mandates,
        requests,
        audit,
        problem,
        invitee,
    };
    Ok(session.web.render_problem(&page, page.problem.as_ref()))
}

/// `GET /org/{cvr}` (administrators).
pub async fn page(
    SignedIn(orgs, session): SignedIn<Arc<Orgs>>,
    Path(cvr): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, Error> {
    let t = session.web.t;
    let message = match done.done.as_str() {
        "right" => Some(t.msg_right_changed.to_owned()),
        "removed" => Some(t.msg_member_removed.to_owned()),
        "mandate" => Some(t.msg_mandate_revoked.to_owned()),
        "rule" => Some(t.msg_rule_set.to_owned()),
        "role" => Some(t.msg_role_changed.to_owned()),
        "request" => Some(t.msg_request_decided.to_owned()),
        _ => None,
    };
    render_org(&orgs, &session, &cvr, message).await
}

/// An invitation.
#[derive(Debug, Deserialize)]
pub struct InviteForm {
    username: String,
    #[serde(default)]
    admin: Option<String>,
    #[serde(default)]
    sign_on_behalf: Option<String>,
    #[serde(default)]
    use_seal: Option<String>,
    #[serde(default)]
    anonymous: Option<String>,
    /// Roles separated by spaces or commas.
    #[serde(default)]
    roles: String,
}

/// `POST /org/{cvr}/invite`: shows the code once; a refused invitation shows the page again
/// with the error summary.
pub async fn invite(
    SignedIn(orgs, mut session): SignedIn<Arc<Orgs>>,
    Path(cvr): Path<String>,
    axum::Form(form): axum::Form<InviteForm>,
) -> Result<Response, Error> {
    let grants = Grants {
        admin: form.admin.is_some(),
        sign_on_behalf: form.sign_on_behalf.is_some(),
        use_seal: form.use_seal.is_some(),
        anonymous: form.anonymous.is_some(),
    };
    let roles: Vec<String> = form
        .roles
        .split([' ', ','])
        .filter(|r| !r.trim().is_empty())
        .map(|r| r.trim().to_owned())
        .collect();
    let (username, request_id) = (Some(form.username.trim()), session.request_id());
    let invited = orgs
        .invite_member_with_roles(
            &session.principal,
            &cvr,
            username,
            grants,
            &roles,
            request_id,
        )
        .await;
    // This page's own place (not the form's), for the language switch.
    session.web.back = super::encode(&format!("/org/{cvr}"));
    let e = match invited {
        Ok(invitation) => {
            let message = format!("{} {}", session.web.t.msg_invited, invitation.code);
            return render_org(&orgs, &session, &cvr, Some(message)).await;
        }
        // An unknown username is this form's mistake too.
        Err(e) if on_page(e.code) || e.code == ErrorCode::NotFound => e,
        Err(e) => return Err(e),
    };
    let field = if e.message.contains("role") {
        "inv-roles"
    } else {
        "invitee"
    };
    let mut problem = Problem::new(&session.web, &e, field);
    if e.code == ErrorCode::InsufficientLoa {
        problem = problem.linking("/account");
    }
    let invitee = super::shown_name(form.username.trim());
    render_org_with(&orgs, &session, &cvr, None, Some((problem, invitee))).await
}

/// A right to grant or revoke.
#[derive(Debug, Deserialize)]
pub struct RightForm {
    right: String,
    granted: String,
}

/// `POST /org/{cvr}/members/{person}/rights`
pub async fn set_right(
    SignedIn(orgs, session): SignedIn<Arc<Orgs>>,
    Path((cvr, person)): Path<(String, String)>,
    axum::Form(form): axum::Form<RightForm>,
) -> Result<Response, Error> {
    let right = match form.right.as_str() {
        "sign_on_behalf" => Right::SignOnBehalf,
        "use_seal" => Right::UseSeal,
        _ => {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                "right: sign_on_behalf or use_seal",
            ))
        }
    };
    let granted = form.granted == "true";
    let (principal, request_id) = (&session.principal, session.request_id());
    orgs.set_member_right(principal, &cvr, &person, right, granted, request_id)
        .await?;
    Ok(Redirect::to(&format!("/org/{cvr}?done=right")).into_response())
}

/// `POST /org/{cvr}/members/{person}/remove`
pub async fn remove(
    SignedIn(orgs, session): SignedIn<Arc<Orgs>>,
    Path((cvr, person)): Path<(String, String)>,
) -> Result<Response, Error> {
    orgs.remove_member(&session.principal, &cvr, &person, session.request_id())
        .await?;
    Ok(Redirect::to(&format!("/org/{cvr}?done=removed")).into_response())
}

/// `POST /org/{cvr}/mandates/{id}/revoke` (administrators of either side, High).
pub async fn revoke_mandate(
    SignedIn(orgs, session): SignedIn<Arc<Orgs>>,
    Path((cvr, id)): Path<(String, String)>,
) -> Result<Response, Error> {
    let request_id = session.request_id();
    orgs.change_mandate(
        &session.principal,
        Some(cvr.as_str()),
        &id,
        "revoke",
        request_id,
    )
    .await?;
    Ok(Redirect::to(&format!("/org/{cvr}?done=mandate")).into_response())
}

/// A rule of representation.
#[derive(Debug, Deserialize)]
pub struct RuleForm {
    rule: String,
}

/// `POST /org/{cvr}/rule`
pub async fn set_rule(
    SignedIn(orgs, session): SignedIn<Arc<Orgs>>,
    Path(cvr): Path<String>,
    axum::Form(form): axum::Form<RuleForm>,
) -> Result<Response, Error> {
    orgs.set_rule(&session.principal, &cvr, &form.rule, session.request_id())
        .await?;
    Ok(Redirect::to(&format!("/org/{cvr}?done=rule")).into_response())
}

/// A role to give or take away.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: String,
    granted: String,
}

/// `POST /org/{cvr}/members/{person}/roles`
pub async fn set_role(
    SignedIn(orgs, session): SignedIn<Arc<Orgs>>,
    Path((cvr, person)): Path<(String, String)>,
    axum::Form(form): axum::Form<RoleForm>,
) -> Result<Response, Error> {
    let granted = form.granted == "true";
    let (principal, request_id) = (&session.principal, session.request_id());
    orgs.set_member_role(principal, &cvr, &person, &form.role, granted, request_id)
        .await?;
    Ok(Redirect::to(&format!("/org/{cvr}?done=role")).into_response())
}

/// An administrator's decision on a request.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    approve: String,
}

/// `POST /org/{cvr}/requests/{id}`
pub async fn decide(
    SignedIn(orgs, session): SignedIn<Arc<Orgs>>,
    Path((cvr, id)): Path<(String, String)>,
    axum::Form(form): axum::Form<DecisionForm>,
) -> Result<Response, Error> {
    let approve = form.approve == "true";
    let (principal, request_id) = (&session.principal, session.request_id());
    orgs.decide_request(principal, &cvr, &id, approve, request_id)
        .await?;
    Ok(Redirect::to(&format!("/org/{cvr}?done=request")).into_response())
}

/// A member's request: a right or a role, by name.
#[derive(Debug, Deserialize)]
pub struct AskForm {
    /// `right` or `role`.
    kind: String,
    name: String,
}

/// `POST /org/{cvr}/request` (a member)
pub async fn ask(
    SignedIn(orgs, session): SignedIn<Arc<Orgs>>,
    Path(cvr): Path<String>,
    axum::Form(form): axum::Form<AskForm>,
) -> Result<Response, Error> {
    let (principal, request_id) = (&session.principal, session.request_id());
    orgs.request_access(principal, &cvr, &form.kind, &form.name, request_id)
        .await?;
    Ok(Redirect::to("/org?done=requested").into_response())
}

/// `POST /org/{cvr}/leave` (a member): withdraws their consent.
pub async fn leave(
    SignedIn(orgs, session): SignedIn<Arc<Orgs>>,
    Path(cvr): Path<String>,
) -> Result<Response, Error> {
    orgs.leave_organisation(&session.principal, &cvr, session.request_id())
        .await?;
    Ok(Redirect::to("/org?done=left").into_response())
}
