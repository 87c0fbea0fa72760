using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DuckDB.NET.Data;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>A shared table whose owner's MyDB is held by a writing process: the grantee waits briefly, then is told it is busy.</summary>
public sealed class MyDbBusyTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task SharedTable_OwnerFileHeldBriefly_GranteeWaitsAndReads_HeldLonger_IsBusy()
    {
        var aliceName = PlatformFactory.UniqueName("o");
        var bobName = PlatformFactory.UniqueName("g");
        using var alice = platform.CreateApiClient(await platform.CreateUserAsync(aliceName));
        using var bob = platform.CreateApiClient(await platform.CreateUserAsync(bobName));
        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "CREATE TABLE t AS SELECT 42 AS answer" })).StatusCode);
        await alice.PutAsJsonAsync("/api/casjobs/mydb/tables/t/sharing", new[] { new { name = bobName, kind = "user" } });
        var aliceFile = Path.Combine(platform.DataDirectory, "mydb", aliceName, "mydb.duckdb");
        var query = new { query = $"SELECT answer FROM shared.{aliceName}.t" };

        HttpResponseMessage waited;
        using (var writer = new DuckDBConnection($"Data Source={aliceFile}"))
        {
            // Alice's own long query holds her MyDB for writing...
            writer.Open();
            var pending = bob.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", query);
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            writer.Close();
            waited = await pending;
        }

        HttpResponseMessage busy;
        using (var writer = new DuckDBConnection($"Data Source={aliceFile}"))
        {
            writer.Open();
            busy = await bob.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", query);
        }

        Assert.True(waited.StatusCode == HttpStatusCode.OK, await waited.Content.ReadAsStringAsync());
        Assert.Equal(42, (await waited.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, busy.StatusCode);
        Assert.Contains($"{aliceName}'s MyDB, which holds a table shared with you, is busy", await busy.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
