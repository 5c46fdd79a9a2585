//! What a sweep of one model may touch: where it lists, whose objects it may delete, and the
//! instant before which an unreferenced object is old enough to go.

use std::time::{Duration, SystemTime};

use dynox_core::Client;

use crate::settings::Runtime;
use crate::store::S3Model;

/// One (bucket, prefix) of the model's file fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Place {
    /// The bucket, as the client's settings name it.
    pub bucket: String,
    /// The fields' key prefix.
    pub prefix: &'static str,
    /// The bucket's region, when the field sets one.
    pub region: Option<&'static str>,
    /// The field's named S3 client, if it names one.
    pub client: Option<&'static str>,
}

/// The limits of one sweep of a model.
pub(super) struct Scope {
    /// Where to list, without duplicates, in declaration order.
    pub places: Vec<Place>,
    /// The `dynox-owner` values of this model's objects (`{table}/{field}`).
    pub owners: Vec<String>,
    /// The instant ages are measured from.
    pub now: SystemTime,
    /// Objects and uploads from after this instant are too young to remove.
    pub cutoff: SystemTime,
}

impl Scope {
    /// The scope of a sweep of `M` as of `now` with a `grace` period.
    pub fn of<M: S3Model>(
        client: &Client,
        runtime: &Runtime,
        now: SystemTime,
        grace: Duration,
    ) -> Self {
        let mut places: Vec<Place> = Vec::new();
        for field in M::S3_FIELDS {
            let place = Place {
                bucket: runtime.bucket(field.bucket).to_owned(),
                prefix: field.prefix,
                region: field.region,
                client: field.client,
            };
            if !places.contains(&place) {
                places.push(place);
            }
        }
        let table = client.table_name::<M>();
        let owners = crate::store::owners::<M>(&table);
        Self {
            places,
            owners,
            now,
            cutoff: now.checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }

    /// An S3 timestamp as an instant (`now` when absent or out of range: never old enough).
    pub fn instant(&self, time: Option<aws_sdk_s3::primitives::DateTime>) -> SystemTime {
        time.and_then(|t| SystemTime::try_from(t).ok())
            .unwrap_or(self.now)
    }

    /// Whether something last changed at `time` is still inside the grace period.
    pub fn too_young(&self, time: SystemTime) -> bool {
        time > self.cutoff
    }
}
