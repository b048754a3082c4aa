//! `PgStatus`: clients and their entities in PostgreSQL, looked up per inquiry, so every
//! replica answers from the same, current data. `import` replaces the data with a pack's
//! validated `status.json`; a client read back equals the one the embedded store holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use crate::answer::{
    Client, ClientDirectory, ClientTier, DirectoryError, Entity, StatusData, Timestamp,
};
use crate::postgres::{Postgres, PostgresError, failed, quote_identifier};
use crate::readiness::NotReady;

/// One client row with its entities and addresses, as JSON built by the query.
const CLIENT_BY_ID: &str = "
    SELECT c.id, c.name, c.tier, c.fields::text, c.as_of,
           coalesce((SELECT json_agg(json_build_object(
                         'kind', e.kind, 'id', e.id, 'name', e.name,
                         'aliases', e.aliases, 'fields', e.fields) ORDER BY e.position)
                     FROM entities e WHERE e.client_id = c.id), '[]')::text,
           coalesce((SELECT json_agg(json_build_object('address', a.address, 'kind', a.kind)
                                     ORDER BY a.position)
                     FROM client_addresses a WHERE a.client_id = c.id), '[]')::text
    FROM clients c WHERE c.id = $1";

/// The client of an exact address, else of the address's domain.
const CLIENT_BY_ADDRESS: &str = "
    SELECT client_id FROM client_addresses
    WHERE (kind = 'email' AND address = $1) OR (kind = 'domain' AND address = $2)
    ORDER BY kind = 'email' DESC LIMIT 1";

/// Status data in PostgreSQL.
#[derive(Clone)]
pub struct PgStatus {
    pg: Postgres,
}

#[derive(Deserialize)]
struct EntityRow {
    kind: String,
    id: String,
    name: String,
    aliases: Vec<String>,
    fields: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct AddressRow {
    address: String,
    kind: String,
}

impl PgStatus {
    pub fn new(pg: Postgres) -> Self {
        Self { pg }
    }

    /// Replaces every client with those of `data`, in one transaction; returns how many
    /// clients and entities were written.
    pub async fn import(&self, data: &StatusData) -> Result<(usize, usize), PostgresError> {
        let mut conn = self.pg.client().await?;
        let txn = conn
            .transaction()
            .await
            .map_err(failed("starting the import"))?;
        txn.execute("DELETE FROM clients", &[])
            .await
            .map_err(failed("clearing clients"))?;
        let mut entities = 0;
        for client in data.clients() {
            let fields = serde_json::to_string(&client.fields).unwrap_or_else(|_| "{}".into());
            txn.execute(
                "INSERT INTO clients (id, name, tier, fields, as_of)
                 VALUES ($1, $2, $3, $4::text::jsonb, $5)",
                &[
                    &client.id,
                    &client.name,
                    &client.tier.as_str(),
                    &fields,
                    &client.as_of.to_string(),
                ],
            )
            .await
            .map_err(failed("inserting a client"))?;
            let addresses = client
                .emails
                .iter()
                .map(|a| (a, "email"))
                .chain(client.domains.iter().map(|a| (a, "domain")));
            for (position, (address, kind)) in addresses.enumerate() {
                txn.execute(
                    "INSERT INTO client_addresses (address, kind, position, client_id)
                     VALUES ($1, $2, $3, $4)",
                    &[address, &kind, &(position as i32), &client.id],
                )
                .await
                .map_err(failed("inserting an address"))?;
            }
            for (position, entity) in client.entities.iter().enumerate() {
                let fields = serde_json::to_string(&entity.fields).unwrap_or_else(|_| "{}".into());
                txn.execute(
                    "INSERT INTO entities (client_id, position, kind, id, name, aliases, fields)
                     VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb)",
                    &[
                        &client.id,
                        &(position as i32),
                        &entity.kind,
                        &entity.id,
                        &entity.name,
                        &entity.aliases,
                        &fields,
                    ],
                )
                .await
                .map_err(failed("inserting an entity"))?;
                entities += 1;
            }
        }
        txn.commit()
            .await
            .map_err(failed("committing the import"))?;
        Ok((data.clients().len(), entities))
    }

    /// How many clients the store holds.
    pub async fn client_count(&self) -> Result<u64, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_one("SELECT count(*) FROM clients", &[])
            .await
            .map_err(failed("counting clients"))?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// Why a store without clients does not serve, and how to fill it.
    pub fn empty_store(&self) -> String {
        let location = self.pg.location();
        match location.schema() {
            Some(schema) => format!(
                "no client status data in postgres schema {} at {}: run `triage import --pack \
                 <pack> --postgres <url> --schema {schema}`",
                quote_identifier(schema),
                location.address()
            ),
            None => format!(
                "no client status data in postgres at {}: run `triage import --pack <pack> \
                 --postgres <url>`",
                location.address()
            ),
        }
    }

    async fn holds_clients(&self) -> Result<bool, PostgresError> {
        let conn = self.pg.client().await?;
        let row = conn
            .query_one("SELECT EXISTS (SELECT 1 FROM clients)", &[])
            .await
            .map_err(failed("looking for clients"))?;
        Ok(row.get(0))
    }

    async fn lookup(&self, id: &str) -> Result<Option<Client>, PostgresError> {
        let conn = self.pg.client().await?;
        let statement = conn
            .prepare_cached(CLIENT_BY_ID)
            .await
            .map_err(failed("preparing the client lookup"))?;
        let Some(row) = conn
            .query_opt(&statement, &[&id])
            .await
            .map_err(failed("looking up a client"))?
        else {
            return Ok(None);
        };
        let damaged = |what: &str| PostgresError::Unavailable(format!("client {id:?}: {what}"));
        let tier: &str = row.get(2);
        let as_of: &str = row.get(4);
        let fields: BTreeMap<String, String> =
            serde_json::from_str(row.get(3)).map_err(|_| damaged("fields are not strings"))?;
        let entities: Vec<EntityRow> =
            serde_json::from_str(row.get(5)).map_err(|_| damaged("damaged entities"))?;
        let addresses: Vec<AddressRow> =
            serde_json::from_str(row.get(6)).map_err(|_| damaged("damaged addresses"))?;
        let of_kind = |kind: &str| {
            addresses
                .iter()
                .filter(|a| a.kind == kind)
                .map(|a| a.address.clone())
                .collect()
        };
        Ok(Some(Client {
            id: row.get(0),
            name: row.get(1),
            tier: ClientTier::parse(tier).ok_or_else(|| damaged("unknown tier"))?,
            emails: of_kind("email"),
            domains: of_kind("domain"),
            fields,
            entities: entities
                .into_iter()
                .map(|e| Entity::new(e.kind, e.id, e.name, e.aliases, e.fields))
                .collect(),
            as_of: Timestamp::parse(as_of).ok_or_else(|| damaged("as_of is not a date"))?,
        }))
    }

    async fn id_for_address(&self, address: &str) -> Result<Option<String>, PostgresError> {
        let address = address.trim().to_lowercase();
        let Some((_, domain)) = address.rsplit_once('@') else {
            return Ok(None);
        };
        let conn = self.pg.client().await?;
        let row = conn
            .query_opt(CLIENT_BY_ADDRESS, &[&address, &domain])
            .await
            .map_err(failed("looking up an address"))?;
        Ok(row.map(|row| row.get(0)))
    }
}

fn unavailable(err: PostgresError) -> DirectoryError {
    DirectoryError(err.to_string())
}

#[async_trait]
impl ClientDirectory for PgStatus {
    async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, DirectoryError> {
        Ok(self.lookup(id).await.map_err(unavailable)?.map(Arc::new))
    }

    async fn client_for_email(&self, address: &str) -> Result<Option<Arc<Client>>, DirectoryError> {
        match self.id_for_address(address).await.map_err(unavailable)? {
            Some(id) => self.client(&id).await,
            None => Ok(None),
        }
    }

    /// Ready while PostgreSQL answers and holds clients: a replica over an empty store (no
    /// `triage import` yet) would answer every inquiry NOT_FOUND.
    async fn healthy(&self) -> Result<(), NotReady> {
        match self.holds_clients().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(NotReady::new(self.empty_store())),
            Err(err) => Err(NotReady::new(format!(
                "postgres at {}: not answering ({err})",
                self.pg.location()
            ))),
        }
    }
}
