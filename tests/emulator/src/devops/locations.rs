//! Resource locations: what `OPTIONS {org}/_apis` (and `OPTIONS {org}/_apis/{area}`) answer, as
//! `{count, value}` of `ApiResourceLocation` (`id`, `area`, `resourceName`, `routeTemplate`,
//! `resourceVersion`, `minVersion`, `maxVersion`, `releasedVersion`; decompiled `ApiResourceLocation`).
//! Microsoft's Node client asks `OPTIONS {org}/_apis/{area}` and picks a location by id
//! (azure-devops-node-api `VsoClient.beginGetAreaLocations`); the .NET client asks `OPTIONS {org}/_apis/`.
//!
//! Location ids: decompiled `TaskResourceIds` (pools `a8c47e17…`, queues `900fa995…`, elasticpools
//! `dd3c938f…`, elasticpoollogs `595b1769…`, nodes `1b232402…`), `ServiceEndpointResourceIds.EndpointResource`
//! (project level `e85f1c62…`), `CoreConstants.ProjectsLocationId` (`603fe2ac…`), oidctoken `69a319f4…`
//! (microsoft/azure-devops-node-api `TaskApi.createOidcToken`, whose route is `task.json`'s path; minimum
//! version 7.1, the first its REST reference documents). Route templates: the
//! elasticpools one is `_apis/{area}/{resource}/{poolId}` as Azure DevOps answers it; the others are the
//! swaggers' paths without the organization, with `{area}` and `{resource}` for their segments by the same
//! rule (the logs route keeps `logs`: its resource name is `elasticpoollogs`). Resource versions: 4 for
//! endpoints (`ServiceEndpoints4Controller`), 1 for the others; minimum versions 6.1 for the elastic pool
//! resources (their REST reference starts at 6.1), 1.0 for the others — the emulator's reading.
//!
//! Caveat: only the resources the emulator serves are listed.

use serde_json::{json, Value};

use super::version::{LATEST, RELEASED};

/// One resource location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub id: &'static str,
    pub area: &'static str,
    pub resource: &'static str,
    pub route_template: &'static str,
    pub resource_version: u32,
    pub min_version: (u32, u32),
}

/// Every location the emulator serves.
pub const LOCATIONS: &[Location] = &[
    Location {
        id: "603fe2ac-9723-48b9-88ad-09305aa6c6e1",
        area: "core",
        resource: "projects",
        route_template: "_apis/{resource}/{projectId}",
        resource_version: 1,
        min_version: (1, 0),
    },
    Location {
        id: "e85f1c62-adfc-4b74-b618-11a150fb195e",
        area: "serviceendpoint",
        resource: "endpoints",
        route_template: "{project}/_apis/{area}/{resource}/{endpointId}",
        resource_version: 4,
        min_version: (1, 0),
    },
    Location {
        id: "a8c47e17-4d56-4a56-92bb-de7ea7dc65be",
        area: "distributedtask",
        resource: "pools",
        route_template: "_apis/{area}/{resource}/{poolId}",
        resource_version: 1,
        min_version: (1, 0),
    },
    Location {
        id: "900fa995-c559-4923-aae7-f8424fe4fbea",
        area: "distributedtask",
        resource: "queues",
        route_template: "{project}/_apis/{area}/{resource}/{queueId}",
        resource_version: 1,
        min_version: (1, 0),
    },
    Location {
        id: "dd3c938f-835b-4971-b99a-db75a47aad43",
        area: "distributedtask",
        resource: "elasticpools",
        route_template: "_apis/{area}/{resource}/{poolId}",
        resource_version: 1,
        min_version: (6, 1),
    },
    Location {
        id: "1b232402-5ff0-42ad-9703-d76497835eb6",
        area: "distributedtask",
        resource: "nodes",
        route_template: "_apis/{area}/elasticpools/{poolId}/{resource}/{elasticNodeId}",
        resource_version: 1,
        min_version: (6, 1),
    },
    Location {
        id: "69a319f4-28c1-4bfd-93e6-ea0ff5c6f1a2",
        area: "distributedtask",
        resource: "oidctoken",
        route_template: "{scopeIdentifier}/_apis/{area}/hubs/{hubName}/plans/{planId}/jobs/{jobId}/{resource}",
        resource_version: 1,
        min_version: (7, 1),
    },
    Location {
        id: "595b1769-61d5-4076-a72a-98a02105ca9a",
        area: "distributedtask",
        resource: "elasticpoollogs",
        route_template: "_apis/{area}/elasticpools/{poolId}/logs",
        resource_version: 1,
        min_version: (6, 1),
    },
];

/// The location of an area's resource (any case).
pub fn find(area: &str, resource: &str) -> Option<&'static Location> {
    LOCATIONS.iter().find(|l| l.area.eq_ignore_ascii_case(area) && l.resource.eq_ignore_ascii_case(resource))
}

fn dotted((major, minor): (u32, u32)) -> String {
    format!("{major}.{minor}")
}

/// The `ApiResourceLocation` of a location.
pub fn render(l: &Location) -> Value {
    json!({
        "id": l.id,
        "area": l.area,
        "resourceName": l.resource,
        "routeTemplate": l.route_template,
        "resourceVersion": l.resource_version,
        "minVersion": dotted(l.min_version),
        "maxVersion": dotted(LATEST),
        "releasedVersion": dotted(RELEASED),
    })
}

/// The answer of `OPTIONS {org}/_apis[/{area}]`: every location, or the area's (an unknown area has none).
pub fn options(area: Option<&str>) -> Value {
    let items: Vec<Value> =
        LOCATIONS.iter().filter(|l| area.is_none_or(|a| l.area.eq_ignore_ascii_case(a))).map(render).collect();
    super::render::list(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elastic_pools_location() {
        let all = options(None);
        assert_eq!(all["count"], LOCATIONS.len());
        let area = options(Some("DistributedTask"));
        let elastic = area["value"].as_array().unwrap().iter().find(|l| l["resourceName"] == "elasticpools").unwrap();
        assert_eq!(elastic["id"], "dd3c938f-835b-4971-b99a-db75a47aad43");
        assert_eq!(elastic["routeTemplate"], "_apis/{area}/{resource}/{poolId}");
        assert_eq!((elastic["releasedVersion"].as_str(), elastic["maxVersion"].as_str()), (Some("7.1"), Some("7.2")));
        assert_eq!(options(Some("nothing"))["count"], 0);
        assert_eq!(
            find("distributedtask", "ElasticPoolLogs").unwrap().route_template,
            "_apis/{area}/elasticpools/{poolId}/logs"
        );
    }
}
