//! The resource ids a template names: user-assigned identities, resource groups, gallery images and versions.

use crate::arm::path::segments;

/// The name of a user-assigned identity id, if `id` is one.
pub fn identity_name(id: &str) -> Option<String> {
    let s = segments(id);
    let ok = s.len() == 8
        && s[0].eq_ignore_ascii_case("subscriptions")
        && s[2].eq_ignore_ascii_case("resourceGroups")
        && s[4].eq_ignore_ascii_case("providers")
        && s[5].eq_ignore_ascii_case("Microsoft.ManagedIdentity")
        && s[6].eq_ignore_ascii_case("userAssignedIdentities");
    ok.then(|| s[7].clone())
}

/// The name of a resource group id, if `id` is one.
pub fn resource_group_id(id: &str) -> Option<String> {
    let s = segments(id);
    (s.len() == 4 && s[0].eq_ignore_ascii_case("subscriptions") && s[2].eq_ignore_ascii_case("resourceGroups"))
        .then(|| s[3].clone())
}

/// A `galleryImageId` (or `imageVersionId`), split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GalleryImageRef {
    /// `/subscriptions/{s}/resourceGroups/{g}`.
    pub group_id: String,
    /// `{group}/providers/Microsoft.Compute/galleries/{gallery}`.
    pub gallery_id: String,
    /// `{gallery}/images/{image}`.
    pub image_id: String,
    /// The version, when the id names one.
    pub version: Option<String>,
}

impl GalleryImageRef {
    /// Parses `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Compute/galleries/{gallery}/images/{image}[/versions/{v}]`.
    pub fn parse(id: &str) -> Option<Self> {
        let s = segments(id);
        let lits = [
            (0, "subscriptions"),
            (2, "resourceGroups"),
            (4, "providers"),
            (5, "Microsoft.Compute"),
            (6, "galleries"),
            (8, "images"),
        ];
        let ok = (s.len() == 10 || (s.len() == 12 && s[10].eq_ignore_ascii_case("versions")))
            && lits.iter().all(|(i, lit)| s[*i].eq_ignore_ascii_case(lit));
        if !ok {
            return None;
        }
        let group_id = format!("/subscriptions/{}/resourceGroups/{}", s[1], s[3]);
        let gallery_id = format!("{group_id}/providers/Microsoft.Compute/galleries/{}", s[7]);
        let image_id = format!("{gallery_id}/images/{}", s[9]);
        Some(GalleryImageRef { group_id, gallery_id, image_id, version: s.get(11).cloned() })
    }
}
