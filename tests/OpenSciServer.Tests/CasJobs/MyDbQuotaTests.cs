using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>A platform whose MyDB quota is small enough to pass in a test.</summary>
public sealed class SmallMyDbQuotaPlatform : PlatformFactory
{
    public SmallMyDbQuotaPlatform()
    {
        Settings["CasJobs:MyDbQuota"] = "2MiB";
    }
}

/// <summary>Over its quota MyDB is read-only: writes are refused with 507 and a way out, reads and drops still work.</summary>
public sealed class MyDbQuotaTests(SmallMyDbQuotaPlatform platform) : IClassFixture<SmallMyDbQuotaPlatform>
{
    [Fact]
    public async Task OverQuota_WritesAre507_ReadsWork_DropFreesSpace()
    {
        var name = PlatformFactory.UniqueName("q");
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(name));
        await client.GetAsync("/api/files/volumes");
        var csv = Path.Combine(platform.DataDirectory, "volumes", "Storage", name, "persistent", "small.csv");
        await File.WriteAllTextAsync(csv, "a\n1\n");
        var big = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query",
            new { query = "CREATE TABLE big AS SELECT range AS id, random() AS x, random() AS y FROM range(400000)" });

        var mydb = await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb");
        var create = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "CREATE TABLE more AS SELECT 1 AS a" });
        var into = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT TOP 5 id INTO mydb.fromdemo FROM erass_synthetic" });
        var read = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "SELECT count(*) FROM big" });
        var upload = await client.PostAsync("/api/casjobs/mydb/tables/up/upload", new StringContent("a\n1\n"));
        var import = await client.PostAsJsonAsync("/api/casjobs/mydb/import", new { path = $"Storage/{name}/persistent/small.csv", table = "imp" });
        var sciServerUpload = await client.PostAsync("/CasJobs/RestApi/contexts/MyDB/Tables/up2", new StringContent("a\n1\n"));

        Assert.Equal(HttpStatusCode.OK, big.StatusCode);
        Assert.True(mydb.GetProperty("usedBytes").GetInt64() > mydb.GetProperty("quotaBytes").GetInt64());
        Assert.Equal(2L * 1024 * 1024, mydb.GetProperty("quotaBytes").GetInt64());
        Assert.Equal(HttpStatusCode.InsufficientStorage, create.StatusCode);
        var message = await create.Content.ReadAsStringAsync();
        Assert.Contains("of its 2 MiB quota", message, StringComparison.Ordinal);
        Assert.Contains("Drop tables", message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.InsufficientStorage, into.StatusCode);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(400000, (await read.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(HttpStatusCode.InsufficientStorage, upload.StatusCode);
        Assert.Equal(HttpStatusCode.InsufficientStorage, import.StatusCode);
        await SciServerAssert.ErrorAsync(sciServerUpload, HttpStatusCode.InsufficientStorage, "quota");
        Assert.Equal(["big"], (await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb")).GetProperty("tables").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(platform.DataDirectory, "mydb-staging")));

        var drop = await client.DeleteAsync("/api/casjobs/mydb/tables/big");
        var after = await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb");
        var again = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "CREATE TABLE more AS SELECT 1 AS a" });

        Assert.Equal(HttpStatusCode.NoContent, drop.StatusCode);
        Assert.True(after.GetProperty("usedBytes").GetInt64() < after.GetProperty("quotaBytes").GetInt64(), after.ToString());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task Upload_LargerThanTheRoomLeft_Is507_AndNothingIsWritten()
    {
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("q")));
        var body = new System.Text.StringBuilder("id,x\n");
        for (var i = 0; i < 150_000; i++)
        {
            body.Append(i).Append(",0.").Append(i).Append('\n');
        }

        var upload = await client.PostAsync("/api/casjobs/mydb/tables/huge/upload?format=csv", new StringContent(body.ToString()));

        Assert.Equal(HttpStatusCode.InsufficientStorage, upload.StatusCode);
        Assert.Contains("does not fit", await upload.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb")).GetProperty("tables").EnumerateArray());
    }
}
