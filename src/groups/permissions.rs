//! Who may do what in a group: one pure table, called by every handler that changes a group.
//! Seeing a group comes first (private groups are a 404 to outsiders); this table decides
//! between doing it, a 403, and a 400 for a rule that even the right person cannot break.

use crate::chat::model::Role;

/// The caller as the table sees them: their role in the group, or staff (who manage any
/// group as its owner would), or nobody in particular.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    Outsider,
    Member,
    Admin,
    Owner,
    Staff,
}

impl Actor {
    pub fn of(role: Option<Role>, is_staff: bool) -> Self {
        match (role, is_staff) {
            (_, true) => Self::Staff,
            (Some(Role::Owner), _) => Self::Owner,
            (Some(Role::Admin), _) => Self::Admin,
            (Some(Role::Member), _) => Self::Member,
            (None, false) => Self::Outsider,
        }
    }

    /// Owners, admins and staff run the group: edit it, invite, answer join requests.
    fn runs(self) -> bool {
        matches!(self, Self::Owner | Self::Admin | Self::Staff)
    }

    /// The owner and staff have the last word: roles, removing admins, ownership, deletion.
    fn rules(self) -> bool {
        matches!(self, Self::Owner | Self::Staff)
    }
}

/// What is being done. Actions on a member carry that member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Update,
    Delete,
    Invite,
    AnswerJoinRequests,
    /// Make the target an admin or a member.
    SetRole(Role),
    Remove(Role),
    /// The caller leaves; the role is their own.
    Leave(Role),
    /// Hand ownership to the target.
    Transfer(Role),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// 403: the caller may not do this.
    Forbidden,
    /// 400 with this detail: nobody may do this.
    Refused(&'static str),
}

pub const OWNER_CANNOT_LEAVE: &str =
    "The owner cannot leave the group. Transfer the ownership first.";
pub const OWNER_STAYS: &str = "The owner's role changes only by transferring the ownership.";
pub const ALREADY_OWNER: &str = "This user already owns the group.";

pub fn check(actor: Actor, action: Action) -> Verdict {
    use Verdict::{Allowed, Forbidden, Refused};
    let allowed_if = |ok: bool| if ok { Allowed } else { Forbidden };
    match action {
        Action::Update | Action::Invite | Action::AnswerJoinRequests => allowed_if(actor.runs()),
        Action::Delete => allowed_if(actor.rules()),
        Action::SetRole(target) => match (actor.rules(), target) {
            (false, _) => Forbidden,
            (true, Role::Owner) => Refused(OWNER_STAYS),
            (true, _) => Allowed,
        },
        Action::Remove(target) => match (actor, target) {
            (_, Role::Owner) if actor.rules() => Refused(OWNER_CANNOT_LEAVE),
            (Actor::Owner | Actor::Staff, _) | (Actor::Admin, Role::Member) => Allowed,
            _ => Forbidden,
        },
        Action::Leave(own) => match own {
            Role::Owner => Refused(OWNER_CANNOT_LEAVE),
            _ => Allowed,
        },
        Action::Transfer(target) => match (actor.rules(), target) {
            (false, _) => Forbidden,
            (true, Role::Owner) => Refused(ALREADY_OWNER),
            (true, _) => Allowed,
        },
    }
}

impl Verdict {
    pub fn enforce(self) -> Result<(), crate::error::ApiError> {
        match self {
            Self::Allowed => Ok(()),
            Self::Forbidden => Err(crate::error::ApiError::Forbidden),
            Self::Refused(why) => Err(crate::error::ApiError::rejected(why)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTORS: [Actor; 5] = [
        Actor::Outsider,
        Actor::Member,
        Actor::Admin,
        Actor::Owner,
        Actor::Staff,
    ];
    const ROLES: [Role; 3] = [Role::Member, Role::Admin, Role::Owner];

    /// One letter per actor in the order of `ACTORS`: A allowed, F forbidden, R refused.
    fn row(action: Action) -> String {
        ACTORS
            .iter()
            .map(|a| match check(*a, action) {
                Verdict::Allowed => 'A',
                Verdict::Forbidden => 'F',
                Verdict::Refused(_) => 'R',
            })
            .collect()
    }

    #[test]
    fn group_actions() {
        //                                      out mem adm own staff
        assert_eq!(row(Action::Update), "FFAAA");
        assert_eq!(row(Action::Invite), "FFAAA");
        assert_eq!(row(Action::AnswerJoinRequests), "FFAAA");
        assert_eq!(row(Action::Delete), "FFFAA");
    }

    #[test]
    fn actions_on_a_member_of_each_role() {
        let table = [
            // (action on a target of role member, admin, owner)
            (
                Action::SetRole as fn(Role) -> Action,
                ["FFFAA", "FFFAA", "FFFRR"],
            ),
            (Action::Remove, ["FFAAA", "FFFAA", "FFFRR"]),
            (Action::Transfer, ["FFFAA", "FFFAA", "FFFRR"]),
        ];
        for (action, expected) in table {
            for (role, want) in ROLES.iter().zip(expected) {
                assert_eq!(row(action(*role)), want, "{:?}", action(*role));
            }
        }
    }

    #[test]
    fn anyone_leaves_but_the_owner() {
        assert_eq!(row(Action::Leave(Role::Member)), "AAAAA");
        assert_eq!(row(Action::Leave(Role::Admin)), "AAAAA");
        assert_eq!(row(Action::Leave(Role::Owner)), "RRRRR");
    }

    #[test]
    fn staff_count_as_staff_whatever_their_role() {
        for role in [None, Some(Role::Member), Some(Role::Owner)] {
            assert_eq!(Actor::of(role, true), Actor::Staff);
        }
        assert_eq!(Actor::of(None, false), Actor::Outsider);
        assert_eq!(Actor::of(Some(Role::Admin), false), Actor::Admin);
    }
}
