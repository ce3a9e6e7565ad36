//! Reseller naming: the instance name templates a client may be held to.
//!
//! Gcore lets a reseller limit the instance names of its clients to a
//! list of templates (`allowed_name_templates` in Gcore's API), such as
//! `ed-c4-{ip_octets}`: an instance is then named by one of the templates,
//! whose placeholders the cloud fills in from the instance's address, and
//! a name that no template could have produced is refused with a
//! ValidationError. A project without templates names its instances
//! freely.
//!
//! | placeholder | becomes, for `10.1.2.3` |
//! |-------------|-------------------------|
//! | `{ip_octets}` | `1-2-3` (the last three octets) |
//! | `{two_ip_octets}` | `2-3` |
//! | `{one_ip_octet}` | `3` |
//!
//! The octets are joined with `-`, so that a name stays a valid host name.
//!
//! ```
//! use canon_cloud::naming::{NameField, check_instance_name, expand_template, matches_template};
//!
//! let templates = vec!["ed-c4-{ip_octets}".to_owned()];
//! assert_eq!(expand_template("ed-c4-{ip_octets}", "10.1.2.3"), "ed-c4-1-2-3");
//! assert!(matches_template("ed-c4-1-2-3", "ed-c4-{ip_octets}"));
//! assert!(!matches_template("prod-db", "ed-c4-{ip_octets}"));
//!
//! assert!(check_instance_name(&templates, Some("ed-c4-10-0-7"), None).is_empty());
//! let refused = check_instance_name(&templates, Some("prod-db"), None);
//! assert_eq!(refused[0].field, NameField::Name);
//! // Without templates, any name goes.
//! assert!(check_instance_name(&[], Some("prod-db"), None).is_empty());
//! ```

use canon::Status;

use crate::admin::Admin;
use crate::auth::{Principal, Scope};
use crate::cloud::Cloud;
use crate::model::ResourceKind;
use crate::repo;

/// The placeholders a template may hold, with the number of octets each
/// stands for.
pub const PLACEHOLDERS: &[(&str, usize)] = &[("{ip_octets}", 3), ("{two_ip_octets}", 2), ("{one_ip_octet}", 1)];

/// The most templates a project may have.
pub const MAX_TEMPLATES: usize = 32;

/// The longest template, in bytes.
pub const MAX_TEMPLATE_LEN: usize = 63;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Literal(&'a str),
    Octets(usize),
}

/// A template's literal text and placeholders, or why it is not one.
fn tokens(template: &str) -> Result<Vec<Token<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        if rest.starts_with('{') {
            let (text, octets) = PLACEHOLDERS
                .iter()
                .find(|(text, _)| rest.starts_with(text))
                .ok_or_else(|| format!("unknown placeholder in '{template}'; use {}", placeholder_list()))?;
            out.push(Token::Octets(*octets));
            rest = &rest[text.len()..];
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            if rest[..end].contains('}') {
                return Err(format!("'}}' without '{{' in '{template}'"));
            }
            out.push(Token::Literal(&rest[..end]));
            rest = &rest[end..];
        }
    }
    Ok(out)
}

fn placeholder_list() -> String {
    PLACEHOLDERS.iter().map(|(text, _)| *text).collect::<Vec<_>>().join(", ")
}

/// Checks a template: 1 to [`MAX_TEMPLATE_LEN`] bytes of letters, digits,
/// `-`, `_` and `.` besides the [`PLACEHOLDERS`].
pub fn validate_template(template: &str) -> Result<(), String> {
    if template.is_empty() || template.len() > MAX_TEMPLATE_LEN {
        return Err(format!("a template has 1 to {MAX_TEMPLATE_LEN} characters"));
    }
    for token in tokens(template)? {
        if let Token::Literal(text) = token {
            if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
                return Err(format!("'{template}' may hold only letters, digits, '-', '_', '.' and placeholders"));
            }
        }
    }
    Ok(())
}

/// Whether `name` is what `template` gives for some address: its literal
/// text as it is, each placeholder as that many octets (0 to 255, without
/// leading zeros) joined with `-`. A malformed template matches nothing.
pub fn matches_template(name: &str, template: &str) -> bool {
    tokens(template).is_ok_and(|tokens| match_tokens(&tokens, name))
}

fn match_tokens(tokens: &[Token<'_>], text: &str) -> bool {
    match tokens.split_first() {
        None => text.is_empty(),
        Some((Token::Literal(literal), rest)) => {
            text.strip_prefix(literal).is_some_and(|after| match_tokens(rest, after))
        }
        Some((Token::Octets(n), rest)) => match_octets(*n, text, rest),
    }
}

/// Matches `n` octets joined with `-` at the start of `text`, then the
/// remaining tokens, trying every octet length.
fn match_octets(n: usize, text: &str, rest: &[Token<'_>]) -> bool {
    (1..=3.min(text.len())).any(|len| {
        let (octet, after) = text.split_at(len);
        if !is_octet(octet) {
            return false;
        }
        if n == 1 {
            return match_tokens(rest, after);
        }
        after.strip_prefix('-').is_some_and(|after| match_octets(n - 1, after, rest))
    })
}

fn is_octet(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'))
        && text.parse::<u16>().is_ok_and(|v| v <= 255)
}

/// The name `template` gives an instance with the IPv4 address `ipv4`.
/// Placeholders are left as they are when `ipv4` is not an address.
pub fn expand_template(template: &str, ipv4: &str) -> String {
    let octets: Vec<&str> = ipv4.split('.').collect();
    if octets.len() != 4 || !octets.iter().all(|o| is_octet(o)) {
        return template.to_owned();
    }
    let mut name = template.to_owned();
    for (text, n) in PLACEHOLDERS {
        name = name.replace(text, &octets[4 - n..].join("-"));
    }
    name
}

/// Whether a name holds a placeholder, as the name of an instance created
/// from a template does until it is shown (see [`expand_template`]).
pub fn has_placeholder(name: &str) -> bool {
    PLACEHOLDERS.iter().any(|(text, _)| name.contains(text))
}

/// The request field a naming violation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameField {
    /// The instance's name.
    Name,
    /// The template the name is to be made from.
    NameTemplate,
}

/// A name or template that breaks a client's templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameViolation {
    /// The field.
    pub field: NameField,
    /// Why, in a sentence that lists the templates.
    pub description: String,
}

/// Checks an instance's `name` or `name_template` against a client's
/// templates. Without templates, anything goes. With templates, a name
/// must match one of them, a template must be one of them, and one of the
/// two must be given.
pub fn check_instance_name(templates: &[String], name: Option<&str>, template: Option<&str>) -> Vec<NameViolation> {
    if templates.is_empty() {
        return Vec::new();
    }
    let allowed = templates.join(", ");
    let mut violations = Vec::new();
    if let Some(name) = name {
        if !templates.iter().any(|t| matches_template(name, t)) {
            violations.push(NameViolation {
                field: NameField::Name,
                description: format!("Name '{name}' does not match any of the client's name templates: {allowed}."),
            });
        }
    }
    if let Some(template) = template {
        if !templates.iter().any(|t| t == template) {
            violations.push(NameViolation {
                field: NameField::NameTemplate,
                description: format!("Template '{template}' is not one of the client's name templates: {allowed}."),
            });
        }
    }
    if name.is_none() && template.is_none() {
        violations.push(NameViolation {
            field: NameField::Name,
            description: format!("This client names instances by its templates; give one of: {allowed}."),
        });
    }
    violations
}

impl Cloud {
    /// The project's instance name templates (empty: names are free).
    pub fn name_templates(&self, who: &Principal, project_id: &str) -> Result<Vec<String>, Status> {
        if !who.scopes.contains(Scope::ReadProjects) {
            return Err(self.errors.scope_missing(Scope::ReadProjects));
        }
        if *who.project_id != *project_id {
            return Err(self.errors.project_denied(project_id));
        }
        self.run(|tx, _| repo::name_templates(tx, project_id))
    }
}

impl Admin<'_> {
    /// Sets a project's instance name templates, replacing any; an empty
    /// list frees its names. Each must pass [`validate_template`]; at most
    /// [`MAX_TEMPLATES`].
    pub fn set_name_templates(&self, project_id: &str, templates: Vec<String>) -> Result<Vec<String>, Status> {
        let cloud = self.cloud();
        if templates.len() > MAX_TEMPLATES {
            return Err(cloud.errors.invalid_field("templates", format!("At most {MAX_TEMPLATES} templates.")));
        }
        for (index, template) in templates.iter().enumerate() {
            validate_template(template)
                .map_err(|why| cloud.errors.invalid_field(&format!("templates[{index}]"), capitalized(&why)))?;
        }
        cloud.run(|tx, _| {
            if repo::project(tx, project_id)?.is_none() {
                return Err(cloud.errors.not_found_global(ResourceKind::Project, project_id).into());
            }
            repo::set_name_templates(tx, project_id, &templates)?;
            Ok(templates.clone())
        })
    }

    /// A project's instance name templates.
    pub fn name_templates(&self, project_id: &str) -> Result<Vec<String>, Status> {
        let cloud = self.cloud();
        cloud.run(|tx, _| {
            if repo::project(tx, project_id)?.is_none() {
                return Err(cloud.errors.not_found_global(ResourceKind::Project, project_id).into());
            }
            repo::name_templates(tx, project_id)
        })
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_templates_octet_by_octet() {
        let table = [
            ("ed-c4-1-2-3", "ed-c4-{ip_octets}", true),
            ("ed-c4-255-0-10", "ed-c4-{ip_octets}", true),
            ("ed-c4-1-2", "ed-c4-{ip_octets}", false),
            ("ed-c4-256-2-3", "ed-c4-{ip_octets}", false),
            ("ed-c4-01-2-3", "ed-c4-{ip_octets}", false),
            ("ed-c4-1-2-3-4", "ed-c4-{ip_octets}", false),
            ("web-7-9.prod", "web-{two_ip_octets}.prod", true),
            ("db3", "db{one_ip_octet}", true),
            ("db", "db{one_ip_octet}", false),
            ("static", "static", true),
            ("prod-db", "ed-c4-{ip_octets}", false),
            ("x", "{bad}", false),
        ];
        for (name, template, expected) in table {
            assert_eq!(matches_template(name, template), expected, "{name} ~ {template}");
        }
    }

    #[test]
    fn templates_expand_from_the_address() {
        let table = [
            ("ed-c4-{ip_octets}", "10.1.2.3", "ed-c4-1-2-3"),
            ("web-{two_ip_octets}", "10.1.2.3", "web-2-3"),
            ("db{one_ip_octet}-{one_ip_octet}", "10.1.2.3", "db3-3"),
            ("plain", "10.1.2.3", "plain"),
            ("ed-{ip_octets}", "not an address", "ed-{ip_octets}"),
        ];
        for (template, ip, expected) in table {
            let name = expand_template(template, ip);
            assert_eq!(name, expected);
            if !has_placeholder(&name) {
                assert!(matches_template(&name, template), "{name} must match {template}");
            }
        }
    }

    #[test]
    fn malformed_templates_are_refused() {
        for (template, ok) in [
            ("ed-c4-{ip_octets}", true),
            ("", false),
            ("ed-{ipoctets}", false),
            ("ed}", false),
            ("ed c4", false),
            (&"x".repeat(64), false),
        ] {
            assert_eq!(validate_template(template).is_ok(), ok, "{template}");
        }
    }

    #[test]
    fn names_and_templates_are_checked_against_the_list() {
        let templates = vec!["ed-c4-{ip_octets}".to_owned(), "static-name".to_owned()];
        let fields = |name, template| {
            check_instance_name(&templates, name, template).into_iter().map(|v| v.field).collect::<Vec<_>>()
        };
        assert_eq!(fields(Some("static-name"), None), []);
        assert_eq!(fields(None, Some("ed-c4-{ip_octets}")), []);
        assert_eq!(fields(Some("prod"), None), [NameField::Name]);
        assert_eq!(fields(None, Some("prod-{ip_octets}")), [NameField::NameTemplate]);
        assert_eq!(fields(Some("prod"), Some("x")), [NameField::Name, NameField::NameTemplate]);
        assert_eq!(fields(None, None), [NameField::Name]);
    }
}
