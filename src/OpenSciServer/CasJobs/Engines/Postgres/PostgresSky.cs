using Npgsql;

namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>
/// The sky functions of the DuckDB engine (docs/sky-queries.md), defined in PostgreSQL in the platform's schema
/// <see cref="PostgresEngine.SkySchema"/> (on every user's search_path) as SQL functions onto q3c, where the
/// database has the q3c extension. They are plain one-expression SQL functions, IMMUTABLE, without SET or STRICT,
/// so PostgreSQL inlines them and then q3c's own inlined conditions: <c>cone(...)</c> and <c>xmatch(...)</c>
/// reach the catalog's q3c index (<c>q3c_ang2ipix(ra, dec)</c>) exactly as <c>q3c_radial_query</c> and
/// <c>q3c_join</c> written by hand would.
/// </summary>
public static class PostgresSky
{
    /// <summary>The functions defined, as users call them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["angdist", "angdist_arcsec", "cone", "xmatch", "fGetNearbyObjEq"];

    /// <summary>
    /// The platform's schema for one catalog schema's own sky function (<c>fGetNearbyObjEq</c>, which searches "the
    /// context's sky table"), on the search path right after the catalog; null when the name would be too long.
    /// </summary>
    public static string? ContextSchema(string catalogSchema)
    {
        ArgumentNullException.ThrowIfNull(catalogSchema);
        var name = PostgresEngine.SkySchema + "_" + catalogSchema;
        return name.Length <= 63 ? name : null;
    }

    /// <summary>
    /// SkyServer's <c>fGetNearbyObjEq(ra0, dec0, radius_arcmin)</c> for a catalog schema with exactly one table that has a
    /// q3c index on <c>q3c_ang2ipix(ra, dec)</c>: that table's rows within the radius, all its columns, <c>objid</c> (= <c>id</c>,
    /// when the table has an id and no objid) and <c>distance</c> in arcminutes. An inlinable SQL set-returning function
    /// (STABLE, SECURITY INVOKER: the caller's own SELECT right on the table applies), so the q3c index is used.
    /// Nothing is defined for a schema without such a table, or whose table already has a column <c>distance</c>.
    /// </summary>
    public static async Task DefineForCatalogAsync(NpgsqlConnection admin, string catalogSchema, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(admin);
        if (ContextSchema(catalogSchema) is not { } target
            || await PostgresEngine.ScalarAsync(admin, "SELECT extnamespace::regnamespace::text FROM pg_catalog.pg_extension WHERE extname = 'q3c'", ct) is not string q3c)
        {
            return;
        }

        var tables = new List<string>();
        await using (var find = new NpgsqlCommand(
            "SELECT DISTINCT c.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
            "WHERE n.nspname = $1 AND (pg_catalog.pg_get_indexdef(i.indexrelid) LIKE '%q3c_ang2ipix(ra, dec)%' OR pg_catalog.pg_get_indexdef(i.indexrelid) LIKE '%q3c_ang2ipix(ra, \"dec\")%')", admin))
        {
            find.Parameters.Add(new NpgsqlParameter { Value = catalogSchema });
            await using var reader = await find.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                tables.Add(reader.GetString(0));
            }
        }

        if (tables.Count != 1)
        {
            return;
        }

        var columns = new List<(string Name, string Type)>();
        await using (var describe = new NpgsqlCommand(
            "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a " +
            "WHERE a.attrelid = ($1 || '.' || $2)::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", admin))
        {
            describe.Parameters.Add(new NpgsqlParameter { Value = Sql.Identifier(catalogSchema) });
            describe.Parameters.Add(new NpgsqlParameter { Value = Sql.Identifier(tables[0]) });
            await using var reader = await describe.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                columns.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        if (columns.Any(c => c.Name == "distance"))
        {
            return;
        }

        var objId = columns.Any(c => c.Name == "id") && columns.All(c => c.Name != "objid");
        var output = string.Join(", ", columns.Select(c => $"{Sql.Identifier(c.Name)} {c.Type}").Concat(objId ? ["objid bigint"] : []).Append("distance double precision"));
        var select = string.Join(", ", columns.Select(c => "t." + Sql.Identifier(c.Name)).Concat(objId ? ["t.id::bigint"] : [])
            .Append($"{q3c}.q3c_dist(t.ra, t.dec, $1, $2) * 60.0"));
        var table = $"{Sql.Identifier(catalogSchema)}.{Sql.Identifier(tables[0])}";
        await PostgresEngine.ExecuteAsync(admin, $"""
            CREATE SCHEMA IF NOT EXISTS {target};
            REVOKE CREATE ON SCHEMA {target} FROM PUBLIC;
            GRANT USAGE ON SCHEMA {target} TO PUBLIC;
            DROP FUNCTION IF EXISTS {target}.fgetnearbyobjeq(double precision, double precision, double precision);
            CREATE FUNCTION {target}.fgetnearbyobjeq(ra0 double precision, dec0 double precision, radius_arcmin double precision)
              RETURNS TABLE ({output}) LANGUAGE sql STABLE PARALLEL SAFE
              AS $oss$ SELECT {select} FROM {table} t WHERE {q3c}.q3c_radial_query(t.ra, t.dec, $1, $2, $3 / 60.0) $oss$;
            COMMENT ON FUNCTION {target}.fgetnearbyobjeq(double precision, double precision, double precision) IS 'Rows of {Sql.Literal(table)} within radius_arcmin of (ra0, dec0), with distance in arcminutes (q3c_radial_query)';
            """, ct);
    }

    /// <summary>Defines the functions (idempotent). Without the q3c extension in the database nothing is defined.</summary>
    public static async Task DefineAsync(NpgsqlConnection admin, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(admin);
        if (await PostgresEngine.ScalarAsync(admin, "SELECT extnamespace::regnamespace::text FROM pg_catalog.pg_extension WHERE extname = 'q3c'", ct) is not string q3c)
        {
            return;
        }

        const string Double = "double precision";
        var s = PostgresEngine.SkySchema;
        await PostgresEngine.ExecuteAsync(admin, $"""
            CREATE OR REPLACE FUNCTION {s}.angdist(ra1 {Double}, dec1 {Double}, ra2 {Double}, dec2 {Double}) RETURNS {Double}
              LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT {q3c}.q3c_dist($1, $2, $3, $4)';
            CREATE OR REPLACE FUNCTION {s}.angdist_arcsec(ra1 {Double}, dec1 {Double}, ra2 {Double}, dec2 {Double}) RETURNS {Double}
              LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT {q3c}.q3c_dist($1, $2, $3, $4) * 3600.0';
            CREATE OR REPLACE FUNCTION {s}.cone(ra_deg {Double}, dec_deg {Double}, ra0 {Double}, dec0 {Double}, radius_deg {Double}) RETURNS boolean
              LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT {q3c}.q3c_radial_query($1, $2, $3, $4, $5)';
            CREATE OR REPLACE FUNCTION {s}.xmatch(ra1 {Double}, dec1 {Double}, ra2 {Double}, dec2 {Double}, radius_arcsec {Double}) RETURNS boolean
              LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT {q3c}.q3c_join($1, $2, $3, $4, $5 / 3600.0)';
            COMMENT ON FUNCTION {s}.angdist({Double}, {Double}, {Double}, {Double}) IS 'Angular distance in degrees (q3c_dist)';
            COMMENT ON FUNCTION {s}.angdist_arcsec({Double}, {Double}, {Double}, {Double}) IS 'Angular distance in arcseconds (q3c_dist)';
            COMMENT ON FUNCTION {s}.cone({Double}, {Double}, {Double}, {Double}, {Double}) IS 'Whether (ra, dec) lies within radius_deg of (ra0, dec0) (q3c_radial_query; uses a q3c_ang2ipix(ra, dec) index)';
            COMMENT ON FUNCTION {s}.xmatch({Double}, {Double}, {Double}, {Double}, {Double}) IS 'Whether two positions are within radius_arcsec (q3c_join; the second pair uses its table''s q3c index)';
            GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {s} TO PUBLIC;
            """, ct);
    }
}
