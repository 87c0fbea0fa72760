using Npgsql;

namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>
/// The sky functions of the DuckDB engine, defined in PostgreSQL in the platform's schema
/// (<see cref="PostgresEngine.SkySchema"/>) as SQL functions onto q3c, where the database has q3c.
/// </summary>
public static class PostgresSky
{
    /// <summary>Defines the functions (idempotent). Without the q3c extension in the database nothing is defined.</summary>
    public static async Task DefineAsync(NpgsqlConnection admin, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(admin);
        if (await PostgresEngine.ScalarAsync(admin, "SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = 'q3c'", ct) is not long n || n == 0)
        {
            return;
        }

        await PostgresEngine.ExecuteAsync(admin, Definitions, ct);
    }

    private const string Definitions = "SELECT 1";
}
