using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>A platform killed (SIGKILL) while a query runs in PostgreSQL: the next start of the same platform terminates the backend it left.</summary>
public sealed class PostgresOrphanTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oss-test-pgorphan-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _database = "orph" + Guid.NewGuid().ToString("N")[..12];
    private string _admin = "";

    public async Task InitializeAsync()
    {
        var server = await PostgresServer.GetAsync();
        await using (var postgres = new NpgsqlConnection(server.ConnectionString("postgres")))
        {
            await postgres.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {_database}", postgres);
            await create.ExecuteNonQueryAsync();
        }

        _admin = server.ConnectionString(_database);
        await using var conn = new NpgsqlConnection(_admin);
        await conn.OpenAsync();
        await using var command = new NpgsqlCommand("CREATE EXTENSION q3c; CREATE SCHEMA cat; CREATE TABLE cat.t AS SELECT 1 AS x", conn);
        await command.ExecuteNonQueryAsync();
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task PlatformKilledWhileAQueryRuns_NextStart_TerminatesItsBackend()
    {
        int orphan;
        long job;
        await using (var server = Server())
        {
            await server.StartAsync();
            using var admin = await server.ClientAsync("admin", PlatformFactory.AdminPassword);
            var registered = await admin.PostAsJsonAsync("/api/admin/casjobs/contexts",
                new { name = "PgOrphan", engine = "postgres", server = "hpc", database = _database, schema = "cat" });
            Assert.True(registered.StatusCode == HttpStatusCode.Created, await registered.Content.ReadAsStringAsync());
            // The user's SQL lifts the time limit PostgreSQL would otherwise end it with.
            var submitted = await admin.PostAsJsonAsync("/api/casjobs/jobs", new { context = "PgOrphan", query = "SET statement_timeout = 0;\nSELECT 1 AS nap INTO mydb.napped FROM pg_sleep(600)" });
            job = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
            orphan = await EventuallyAsync(() => SleeperAsync(), pid => pid != 0);
            Assert.NotEqual(0, orphan);

            await server.KillAsync();
        }

        var afterKill = await AliveAsync(orphan);
        int again;
        await using (var restarted = Server())
        {
            await restarted.StartAsync();
            var gone = await EventuallyAsync(async () => await AliveAsync(orphan) ? 1 : 0, alive => alive == 0);
            // The requeued job runs again from the new process, as its own backend.
            again = await EventuallyAsync(() => SleeperAsync(), pid => pid != 0 && pid != orphan);
            using var admin = await restarted.ClientAsync("admin", PlatformFactory.AdminPassword);
            await admin.PostAsync($"/api/casjobs/jobs/{job}/cancel", null);

            Assert.True(afterKill, "the killed platform's backend should outlive it");
            Assert.Equal(0, gone);
            Assert.NotEqual(orphan, again);
            Assert.Equal(0, await EventuallyAsync(() => SleeperAsync(), pid => pid == 0));
        }
    }

    private ServerProcess Server()
    {
        var server = new ServerProcess(_data);
        server.Settings["CasJobs:PostgresServers:hpc:ConnectionString"] = _admin;
        return server;
    }

    /// <summary>The pid of the backend sleeping for the job (0 if none).</summary>
    private async Task<int> SleeperAsync()
    {
        await using var conn = new NpgsqlConnection(_admin);
        await conn.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE datname = '{_database}' AND query LIKE '%pg_sleep(600)%' AND state = 'active' AND pid <> pg_backend_pid()", conn);
        return (int)(await command.ExecuteScalarAsync())!;
    }

    private async Task<bool> AliveAsync(int pid)
    {
        await using var conn = new NpgsqlConnection(_admin);
        await conn.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}", conn);
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }

    private static async Task<int> EventuallyAsync(Func<Task<int>> read, Func<int, bool> done)
    {
        var clock = Stopwatch.StartNew();
        var value = await read();
        while (!done(value) && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(200);
            value = await read();
        }

        return value;
    }
}
