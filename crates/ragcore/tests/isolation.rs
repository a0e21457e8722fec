//! Tenant isolation, randomised: 20 tenants, each with documents open to the whole tenant and
//! documents behind ACLs, principals holding some of the groups; then probes (default 2,000;
//! `RAGCORE_ISOLATION_PROBES=10000` for the full run) pick a random asker and a random target
//! document of any tenant and query every surface with the target's unique marker words. A leak
//! is anything from a document the asker may not see: a hit, a citation, a marker in an answer,
//! or a vault value of another tenant or another request. Positive controls (the asker's own
//! visible target must be found) keep the test from passing vacuously.
//!
//! A new surface (answer cache, budgets, event log) is one more `impl Surface` and one line in
//! `surfaces()`.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use ragcore::guard::{GuardPolicy, PiiMode};
use ragcore::pipeline::{PseudonymizeRequest, RestoreRequest};
use ragcore::{AskRequest, Document, LocalOptions, Pipeline, PipelineConfig, Scope};

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

const TENANTS: usize = 20;
const DOCS_PER_TENANT: usize = 6;
const GROUPS_PER_TENANT: usize = 3;

/// A small deterministic generator (xorshift64*), so every run probes the same way.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A nonsense word unique to (tenant, doc): appears in that document only.
fn marker(t: usize, d: usize) -> String {
    const SYL: [&str; 16] = [
        "ka", "zu", "mi", "ro", "ve", "ta", "qo", "ny", "le", "bo", "xi", "fu", "da", "we", "po",
        "sh",
    ];
    let n = t * 97 + d * 13 + 7;
    format!(
        "{}{}{}{}x",
        SYL[n % 16],
        SYL[(n / 16) % 16],
        SYL[(n / 7) % 16],
        SYL[(t + d) % 16]
    )
}

struct DocInfo {
    tenant: String,
    acl: Vec<String>,
    marker: String,
}

struct Secret {
    tenant: String,
    vault_id: String,
    text: String,
    value: String,
}

/// Everything the probes compare against.
struct World {
    pipeline: Pipeline,
    docs: BTreeMap<String, DocInfo>,
    /// One pseudonymized e-mail per tenant.
    secrets: Vec<Secret>,
}

impl World {
    fn visible(&self, scope: &Scope, doc_id: &str) -> bool {
        self.docs.get(doc_id).is_some_and(|d| {
            d.tenant == scope.tenant
                && (d.acl.is_empty() || d.acl.iter().any(|g| scope.principals.contains(g)))
        })
    }
}

struct Probe {
    scope: Scope,
    target: String,
}

#[derive(Default)]
struct Tally {
    probes: usize,
    leaks: Vec<String>,
    /// Probes whose target was visible to the asker, and how many of them found it.
    visible_targets: usize,
    found_visible: usize,
}

#[async_trait]
trait Surface: Send + Sync {
    fn name(&self) -> &'static str;
    /// Probes the surface; records leaks and positive controls.
    async fn probe(&self, world: &World, probe: &Probe, tally: &mut Tally) -> R;
}

struct Retrieval;

#[async_trait]
impl Surface for Retrieval {
    fn name(&self) -> &'static str {
        "retrieve"
    }
    async fn probe(&self, w: &World, p: &Probe, tally: &mut Tally) -> R {
        let info = &w.docs[&p.target];
        let hits = w
            .pipeline
            .retrieve(&format!("{} policy", info.marker), &p.scope)
            .await?;
        for h in &hits {
            if !w.visible(&p.scope, &h.document_id) {
                tally
                    .leaks
                    .push(format!("retrieve: {:?} saw {}", p.scope, h.document_id));
            }
        }
        if w.visible(&p.scope, &p.target) {
            tally.visible_targets += 1;
            tally.found_visible += usize::from(hits.iter().any(|h| h.document_id == p.target));
        }
        Ok(())
    }
}

struct Ask;

#[async_trait]
impl Surface for Ask {
    fn name(&self) -> &'static str {
        "ask"
    }
    async fn probe(&self, w: &World, p: &Probe, tally: &mut Tally) -> R {
        let info = &w.docs[&p.target];
        let a = w
            .pipeline
            .ask(AskRequest::new(
                format!("What is the {} policy?", info.marker),
                p.scope.clone(),
            ))
            .await?;
        for c in &a.citations {
            if !w.visible(&p.scope, &c.document_id) {
                tally
                    .leaks
                    .push(format!("ask: {:?} cited {}", p.scope, c.document_id));
            }
        }
        for (id, d) in &w.docs {
            if !w.visible(&p.scope, id) && a.text.contains(&d.marker) {
                tally
                    .leaks
                    .push(format!("ask: {:?} answer shows {id}", p.scope));
            }
        }
        if w.visible(&p.scope, &p.target) {
            tally.visible_targets += 1;
            tally.found_visible +=
                usize::from(a.citations.iter().any(|c| c.document_id == p.target));
        }
        Ok(())
    }
}

struct Vault;

#[async_trait]
impl Surface for Vault {
    fn name(&self) -> &'static str {
        "vault"
    }
    async fn probe(&self, w: &World, p: &Probe, tally: &mut Tally) -> R {
        // Try to resolve the target tenant's vault id as the asker.
        let target_tenant = &w.docs[&p.target].tenant;
        let s = w
            .secrets
            .iter()
            .find(|s| &s.tenant == target_tenant)
            .ok_or("no secret")?;
        let restored = w
            .pipeline
            .restore(RestoreRequest {
                text: s.text.clone(),
                scope: p.scope.clone(),
                vault_id: s.vault_id.clone(),
            })
            .await?;
        for other in &w.secrets {
            if other.tenant != p.scope.tenant && restored.contains(&other.value) {
                tally.leaks.push(format!(
                    "vault: {} resolved {}'s value",
                    p.scope.tenant, other.tenant
                ));
            }
        }
        if *target_tenant == p.scope.tenant {
            tally.visible_targets += 1;
            tally.found_visible += usize::from(restored.contains(&s.value));
        }
        Ok(())
    }
}

fn surfaces() -> Vec<Box<dyn Surface>> {
    vec![Box::new(Retrieval), Box::new(Ask), Box::new(Vault)]
}

async fn build_world(dir: &std::path::Path) -> R<World> {
    let pipeline = Pipeline::open_local(
        dir,
        LocalOptions {
            config: PipelineConfig {
                guards: GuardPolicy {
                    pii_mode: PiiMode::Placeholder,
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await?;
    let mut docs = BTreeMap::new();
    let mut secrets = Vec::new();
    for t in 0..TENANTS {
        let tenant = format!("tenant{t:02}");
        let mut batch = Vec::new();
        for d in 0..DOCS_PER_TENANT {
            // Documents 0-1 are open to the tenant; the others need group d % 3.
            let acl = if d < 2 {
                Vec::new()
            } else {
                vec![format!("{tenant}-g{}", d % GROUPS_PER_TENANT)]
            };
            let m = marker(t, d);
            let id = format!("{tenant}/doc{d}");
            let mut doc = Document::new(
                id.clone(),
                format!("The {m} policy: item {d} of {tenant} is handled by the {m} team within {d} days."),
            );
            doc.acl = acl.clone();
            docs.insert(
                id,
                DocInfo {
                    tenant: tenant.clone(),
                    acl,
                    marker: m,
                },
            );
            batch.push(doc);
        }
        support::ingest(&pipeline, &tenant, batch).await?;
        let value = format!("owner{t:02}@tenant{t:02}.example.com");
        let r = pipeline
            .pseudonymize(PseudonymizeRequest {
                text: format!("contact {value}"),
                scope: Scope::tenant(tenant.clone()),
            })
            .await?;
        secrets.push(Secret {
            tenant,
            vault_id: r.vault_id,
            text: r.text,
            value,
        });
    }
    let markers: BTreeSet<&String> = docs.values().map(|d| &d.marker).collect();
    assert_eq!(markers.len(), docs.len(), "markers must be unique");
    Ok(World {
        pipeline,
        docs,
        secrets,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn randomised_probes_find_no_leaks() -> R {
    let probes: usize = std::env::var("RAGCORE_ISOLATION_PROBES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let dir = tempfile::tempdir()?;
    let world = build_world(dir.path()).await?;
    let ids: Vec<String> = world.docs.keys().cloned().collect();
    let surfaces = surfaces();
    let mut tallies: Vec<Tally> = surfaces.iter().map(|_| Tally::default()).collect();
    let mut rng = Rng(0x5EED_1234_ABCD_0042);
    for i in 0..probes {
        // Askers: a tenant, plus 0-2 of its own groups and sometimes another tenant's group
        // (a principal name from elsewhere must not open anything).
        let t = rng.below(TENANTS);
        let tenant = format!("tenant{t:02}");
        let mut principals = vec![format!("user{}", rng.below(50))];
        for _ in 0..rng.below(3) {
            principals.push(format!("{tenant}-g{}", rng.below(GROUPS_PER_TENANT)));
        }
        if rng.below(4) == 0 {
            principals.push(format!(
                "tenant{:02}-g{}",
                rng.below(TENANTS),
                rng.below(GROUPS_PER_TENANT)
            ));
        }
        // Half the targets are the asker's own tenant's documents, half anyone's.
        let target = if rng.below(2) == 0 {
            format!("{tenant}/doc{}", rng.below(DOCS_PER_TENANT))
        } else {
            ids[rng.below(ids.len())].clone()
        };
        let probe = Probe {
            scope: Scope::tenant(tenant).with_principals(principals),
            target,
        };
        let k = i % surfaces.len();
        tallies[k].probes += 1;
        surfaces[k].probe(&world, &probe, &mut tallies[k]).await?;
    }
    let mut leaks = 0;
    for (s, t) in surfaces.iter().zip(&tallies) {
        println!(
            "{:<10} probes {:>6}  leaks {:>3}  visible targets found {}/{}",
            s.name(),
            t.probes,
            t.leaks.len(),
            t.found_visible,
            t.visible_targets
        );
        leaks += t.leaks.len();
        for l in t.leaks.iter().take(5) {
            println!("  {l}");
        }
        // Positive control: the probes do reach what the asker may see.
        assert!(
            t.visible_targets > 0 && t.found_visible * 10 >= t.visible_targets * 9,
            "{}: only {}/{} visible targets found",
            s.name(),
            t.found_visible,
            t.visible_targets
        );
    }
    assert_eq!(leaks, 0, "isolation leaks");
    Ok(())
}
