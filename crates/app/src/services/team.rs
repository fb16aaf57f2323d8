//! The team: admins invite members (an email with a one-time link to set a password), edit
//! them and deactivate them; deactivation blocks sign-in and ends every session at once.

use super::{Actor, snapshot};
use crate::jobs::tasks::EmailJob;
use crate::security::{password, tokens};
use crate::{AppContext, Error, Result};
use bma_domain::access::Role;
use bma_domain::member::{Email, Password, PersonName};
use bma_store::{audit, members};
use time::OffsetDateTime;
use uuid::Uuid;

pub struct Invitation {
    pub member: members::Member,
    /// Returned only to the caller's code (tests, demo); the API never echoes it.
    pub token: String,
}

pub async fn invite(ctx: &AppContext, actor: &Actor, email: Email, name: PersonName, role: Role) -> Result<Invitation> {
    let token = tokens::random_token();
    let link = format!("{}/accept-invitation#token={token}", ctx.config.public_url.trim_end_matches('/'));
    let mut tx = ctx.db.begin().await?;
    let member = members::insert(
        &mut *tx,
        members::NewMember {
            id: bma_domain::ids::new_id(),
            email: email.as_str(),
            name: name.as_str(),
            role,
            password_hash: None,
        },
    )
    .await
    .map_err(|e| {
        if bma_store::is_unique_violation(&e) {
            Error::conflict("email_taken", "a member with this email already exists")
        } else {
            e.into()
        }
    })?;
    let expires = OffsetDateTime::now_utc() + ctx.config.invitation_ttl;
    members::insert_invitation(&mut *tx, &tokens::hash_token(&token), member.id, expires).await?;
    let email_job = EmailJob {
        to: email.as_str().to_owned(),
        subject: "You are invited to BMA Social".into(),
        text: format!(
            "Hello {},\n\nYou have been invited to the BMA Social team as {}.\nSet your password here (the link works once and expires in {} hours):\n\n{link}\n",
            name.as_str(),
            role.as_str(),
            ctx.config.invitation_ttl.as_secs() / 3600
        ),
    };
    crate::jobs::enqueue(ctx, &mut *tx, &email_job, crate::jobs::Options::default()).await?;
    audit::record(&mut *tx, actor.audit("member.invite", "team_member", member.id, None, snapshot(&member))).await?;
    tx.commit().await?;
    Ok(Invitation { member, token })
}

/// Sets the password of an invited member from the one-time token.
pub async fn accept_invitation(
    ctx: &AppContext,
    token: &str,
    password_new: &Password,
    ip: Option<std::net::IpAddr>,
) -> Result<Uuid> {
    let hash = password::hash(password_new, ctx.config.bcrypt_cost).await?;
    let mut tx = ctx.db.begin().await?;
    let Some(member_id) = members::redeem_invitation(&mut *tx, &tokens::hash_token(token.trim())).await? else {
        return Err(Error::unauthorized("invalid_invitation", "the invitation link is invalid, used or expired"));
    };
    members::set_password(&mut *tx, member_id, &hash).await?;
    let actor = Actor::member(Some(member_id), ip, None);
    audit::record(&mut *tx, actor.audit("member.accept_invitation", "team_member", member_id, None, None)).await?;
    tx.commit().await?;
    Ok(member_id)
}

pub struct MemberChanges {
    pub name: Option<PersonName>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

pub async fn update(ctx: &AppContext, actor: &Actor, id: Uuid, changes: MemberChanges) -> Result<members::Member> {
    if actor.member_id == Some(id) && (changes.active == Some(false) || changes.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(Error::conflict("cannot_demote_self", "you cannot deactivate or demote yourself"));
    }
    let mut tx = ctx.db.begin().await?;
    let before = members::find_for_update(&mut *tx, id).await?.ok_or(Error::NotFound("member"))?;
    let after = members::update_profile(
        &mut *tx,
        id,
        changes.name.as_ref().map(PersonName::as_str),
        changes.role,
        changes.active,
    )
    .await?
    .ok_or(Error::NotFound("member"))?;
    let lost_access = (before.active && !after.active) || before.role != after.role;
    let revoked = if lost_access {
        super::auth::revoke_member_sessions(&mut tx, id, if after.active { "role changed" } else { "deactivated" })
            .await?
    } else {
        Vec::new()
    };
    audit::record(&mut *tx, actor.audit("member.update", "team_member", id, snapshot(&before), snapshot(&after)))
        .await?;
    tx.commit().await?;
    super::auth::mark_sessions_revoked(ctx, &revoked).await?;
    Ok(after)
}

/// Creates an active member with a password directly (the CLI's first admin, the demo team).
pub async fn create_with_password(
    ctx: &AppContext,
    email: &Email,
    name: &PersonName,
    role: Role,
    password_new: &Password,
) -> Result<members::Member> {
    let hash = password::hash(password_new, ctx.config.bcrypt_cost).await?;
    let mut tx = ctx.db.begin().await?;
    let m = members::insert(
        &mut *tx,
        members::NewMember {
            id: bma_domain::ids::new_id(),
            email: email.as_str(),
            name: name.as_str(),
            role,
            password_hash: Some(&hash),
        },
    )
    .await
    .map_err(|e| {
        if bma_store::is_unique_violation(&e) {
            Error::conflict("email_taken", "a member with this email already exists")
        } else {
            e.into()
        }
    })?;
    let actor = Actor::member(None, None, None);
    audit::record(&mut *tx, actor.audit("member.create", "team_member", m.id, None, snapshot(&m))).await?;
    tx.commit().await?;
    Ok(m)
}
