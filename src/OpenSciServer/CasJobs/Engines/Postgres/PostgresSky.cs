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
    public static IReadOnlyList<string> Names { get; } = ["angdist", "angdist_arcsec", "cone", "xmatch"];

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
