using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compute;

/// <summary>The Compute API's answers to what it lists and to bad requests, on both databases.</summary>
public abstract class ComputeApiTests(PlatformFactory platform)
{
    [Fact]
    public async Task DomainsAndImages_ListTheSeededLocalDomainAndPythonImage_ForEveryUser()
    {
        var (_, client) = await NewUserAsync();

        var domains = await client.GetFromJsonAsync<JsonElement>("/api/compute/domains");
        var images = await client.GetFromJsonAsync<JsonElement>("/api/compute/images");

        var local = domains.EnumerateArray().Single(d => d.GetProperty("name").GetString() == "Local");
        Assert.Equal("Local", local.GetProperty("backend").GetString());
        Assert.True(local.GetProperty("memoryBytes").GetInt64() >= 512L << 20);
        Assert.Equal(3, local.GetProperty("maxSessionsPerUser").GetInt32());
        var names = images.EnumerateArray().Select(i => i.GetProperty("name").GetString()).ToList();
        Assert.Contains("Python 3 (astro)", names);
        Assert.Equal(["python3"], images.EnumerateArray().First(i => i.GetProperty("name").GetString() == "Python 3 (astro)")
            .GetProperty("kernels").EnumerateArray().Select(k => k.GetString()));
    }

    [Theory]
    [InlineData("", 400, "session name")]
    [InlineData("bad/name", 400, "session name")]
    [InlineData("<script>", 400, "session name")]
    public async Task Create_WithABadName_Is400(string name, int status, string message)
    {
        var (user, client) = await NewUserAsync();

        var response = await client.PostAsJsonAsync("/api/compute/sessions", Body(user, name: name));

        await AssertProblemAsync(response, status, message);
    }

    [Fact]
    public async Task Create_WithUnknownDomainOrImage_Is404_NamingWhereToLook()
    {
        var (user, client) = await NewUserAsync();

        await AssertProblemAsync(await client.PostAsJsonAsync("/api/compute/sessions", Body(user, domain: "Nowhere")), 404, "GET /api/compute/domains");
        await AssertProblemAsync(await client.PostAsJsonAsync("/api/compute/sessions", Body(user, image: "MATLAB R2099")), 404, "GET /api/compute/images");
    }

    [Fact]
    public async Task Create_WithVolumesTheUserMayNotReadOrWrite_Is404Or403_AndCreatesNothing()
    {
        var (alice, aliceClient) = await NewUserAsync();
        var (bob, bobClient) = await NewUserAsync();

        // Someone else's volume, not shared: not there for Alice.
        await AssertProblemAsync(await aliceClient.PostAsJsonAsync("/api/compute/sessions", Body(alice, owner: bob)), 404, "that you can reach");
        // An unknown data volume.
        await AssertProblemAsync(await aliceClient.PostAsJsonAsync("/api/compute/sessions", Body(alice, dataVolumes: ["NoSuchData"])), 404, "NoSuchData");
        // Shared read-only, asked for writing: 403.
        var volumes = await bobClient.GetFromJsonAsync<JsonElement>("/api/files/volumes");
        var persistent = volumes.GetProperty("mine").EnumerateArray().Single(v => v.GetProperty("name").GetString() == "persistent").GetProperty("resourceId").GetGuid();
        var shared = await bobClient.PutAsJsonAsync($"/api/resources/{persistent}/privileges", new { type = "user", name = alice, actions = new[] { "read" } });
        Assert.True(shared.IsSuccessStatusCode, await shared.Content.ReadAsStringAsync());
        await AssertProblemAsync(await aliceClient.PostAsJsonAsync("/api/compute/sessions", Body(alice, owner: bob, writable: true)), 403, "read");
        // Traversal in a volume field.
        await AssertProblemAsync(await aliceClient.PostAsJsonAsync("/api/compute/sessions", Body(alice, owner: "../" + bob)), 400, "rootVolume, owner and name");

        Assert.Empty((await aliceClient.GetFromJsonAsync<JsonElement>("/api/compute/sessions")).EnumerateArray());
    }

    [Fact]
    public async Task Create_PastTheDomainsSessionLimit_Is429WithTheLimit_AndADuplicateNameIs409()
    {
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var domain = PlatformFactory.UniqueName("Single");
        var put = await admin.PutAsJsonAsync($"/api/admin/compute/domains/{domain}", new
        {
            backend = "Local", memoryBytes = 1L << 30, cpus = 1, maxProcesses = 256, maxSessionsPerUser = 1,
            idleTimeout = "01:00:00", lifetime = "01:00:00", maxLifetime = "02:00:00",
        });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        // Not shared yet: nobody but admins may use it.
        var (user, client) = await NewUserAsync();
        await AssertProblemAsync(await client.PostAsJsonAsync("/api/compute/sessions", Body(user, domain: domain)), 404, domain);

        var first = await admin.PostAsJsonAsync("/api/compute/sessions", Body("admin", name: "one", domain: domain));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var duplicate = await admin.PostAsJsonAsync("/api/compute/sessions", Body("admin", name: "one", domain: "Local"));
        var second = await admin.PostAsJsonAsync("/api/compute/sessions", Body("admin", name: "two", domain: domain));

        await AssertProblemAsync(duplicate, 409, "named 'one' already");
        await AssertProblemAsync(second, 429, "at most 1 session(s)");
        var id = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/compute/sessions/{id}")).StatusCode);
    }

    [Fact]
    public async Task AdminRoutes_AreForAdminsOnly_AndCheckTheirInput()
    {
        var (_, client) = await NewUserAsync();
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());

        var asUser = await client.PutAsJsonAsync("/api/admin/compute/domains/Mine", new { backend = "Local" });
        var badBackend = await admin.PutAsJsonAsync("/api/admin/compute/domains/Odd", new { backend = "Mainframe" });
        var badImage = await admin.PutAsJsonAsync("/api/admin/compute/images/Odd", new { jupyterCommand = "jupyter notebook", kernels = new[] { "python3" } });

        Assert.Equal(HttpStatusCode.Forbidden, asUser.StatusCode);
        await AssertProblemAsync(badBackend, 400, "backend is one of Local, Slurm");
        await AssertProblemAsync(badImage, 400, "absolute program path");
    }

    // No slurm.conf in this platform's settings: the session fails with what Slurm says, not a 500.
    [Fact]
    public async Task SessionOnAnUnconfiguredSlurm_FailsWithSlurmsReason()
    {
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var domain = PlatformFactory.UniqueName("Cluster");
        var put = await admin.PutAsJsonAsync($"/api/admin/compute/domains/{domain}", new
        {
            backend = "Slurm", partition = "debug", memoryBytes = 1L << 30, cpus = 1, maxProcesses = 256, maxSessionsPerUser = 1,
            idleTimeout = "01:00:00", lifetime = "01:00:00", maxLifetime = "02:00:00",
        });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());

        var created = await admin.PostAsJsonAsync("/api/compute/sessions", Body("admin", name: PlatformFactory.UniqueName("s"), domain: domain));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        JsonElement session = default;
        for (var i = 0; i < 100 && (session.ValueKind == JsonValueKind.Undefined || session.GetProperty("status").GetString() == "Starting"); i++)
        {
            await Task.Delay(100);
            session = await admin.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{id}");
        }

        Assert.Equal("Failed", session.GetProperty("status").GetString());
        Assert.Contains("Slurm", session.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
        await admin.DeleteAsync($"/api/compute/sessions/{id}");
    }

    private static object Body(string user, string name = "analysis", string domain = "Local", string image = "Python 3 (astro)",
        bool writable = false, string[]? dataVolumes = null, string? owner = null) => new
        {
            name,
            domain,
            image,
            dataVolumes = dataVolumes ?? [],
            userVolumes = new[] { new { rootVolume = "Storage", owner = owner ?? user, name = "persistent", writable } },
        };

    private static async Task AssertProblemAsync(HttpResponseMessage response, int status, string message)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Contains(message, text, StringComparison.Ordinal);
    }

    private async Task<(string Name, HttpClient Client)> NewUserAsync()
    {
        var name = PlatformFactory.UniqueName();
        return (name, platform.CreateApiClient(await platform.CreateUserAsync(name)));
    }
}

public sealed class ComputeApiSqliteTests(SqlitePlatform platform) : ComputeApiTests(platform), IClassFixture<SqlitePlatform>;

public sealed class ComputeApiPostgresTests(PostgresPlatform platform) : ComputeApiTests(platform), IClassFixture<PostgresPlatform>;
