using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>
/// At start, before the platform answers any request: names this process's user connections (application_name
/// <c>opensciserver-query &lt;platform&gt; &lt;process&gt;</c>, the platform's id kept in the data directory) and terminates
/// the backends a previous process of the same platform left running on every configured PostgreSQL server (a
/// platform killed while a query ran: its backend runs on until its statement_timeout, which the user's SQL may
/// have lifted). Other platforms sharing the server are left alone (another platform id).
/// </summary>
public sealed partial class PostgresOrphans(PostgresEngine engine, IOptions<CasJobsOptions> options, IOptions<PlatformOptions> platform, ILogger<PostgresOrphans> logger)
    : IHostedService
{
    /// <summary>The file in the data directory that holds the platform's id.</summary>
    public const string IdFile = "postgres-platform-id";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var servers = options.Value.PostgresServers.Where(s => !string.IsNullOrWhiteSpace(s.Value.ConnectionString)).ToList();
        if (servers.Count == 0)
        {
            return;
        }

        engine.Identify(PlatformId(platform.Value.DataPath));
        foreach (var (name, server) in servers)
        {

            try
            {
                var terminated = await TerminateAsync(server.ConnectionString, cancellationToken);
                if (terminated > 0)
                {
                    LogTerminated(logger, terminated, name);
                }
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                // A server that is down has no backends left either; the platform starts anyway.
                LogFailed(logger, name, e);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Terminates this platform's query backends of other processes (needs a superuser or pg_signal_backend); returns how many.</summary>
    private async Task<int> TerminateAsync(string connectionString, CancellationToken ct)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "opensciserver-admin", Timeout = 5, Pooling = false };
        await using var admin = new NpgsqlConnection(builder.ConnectionString);
        await admin.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FILTER (WHERE pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity " +
            "WHERE application_name LIKE $1 AND application_name <> $2 AND pid <> pg_catalog.pg_backend_pid()", admin);
        command.Parameters.Add(new NpgsqlParameter { Value = $"{PostgresEngine.QueryApplication} {engine.PlatformTag} %" });
        command.Parameters.Add(new NpgsqlParameter { Value = engine.QueryApplicationName });
        return (int)(long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>The platform's id: random, made once and kept in the data directory (written whole, then renamed).</summary>
    public static string PlatformId(string dataPath)
    {
        var path = Path.Combine(dataPath, IdFile);
        if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: 12 } existing)
        {
            return existing;
        }

        Directory.CreateDirectory(dataPath);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temp, id);
        try
        {
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException)
        {
            // Another process wrote it first: theirs holds.
            File.Delete(temp);
        }

        return File.ReadAllText(path).Trim();
    }

    [LoggerMessage(1345, LogLevel.Warning, "Terminated {Count} PostgreSQL backends left running on server {Server} by a previous platform process")]
    private static partial void LogTerminated(ILogger logger, int count, string server);

    [LoggerMessage(1346, LogLevel.Warning, "Could not look for backends left by a previous platform process on PostgreSQL server {Server}")]
    private static partial void LogFailed(ILogger logger, string server, Exception exception);
}
