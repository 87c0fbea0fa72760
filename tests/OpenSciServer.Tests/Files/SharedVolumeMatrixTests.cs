using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Files;

/// <summary>
/// What each kind of holder may do in a shared volume: nothing shared, read, read+write,
/// read+write+delete, read+grant, the owner, and a site admin; each file operation tried by each.
/// </summary>
public abstract class SharedVolumeMatrixTests(PlatformFactory platform)
{
    private static readonly Dictionary<string, string[]> Grants = new(StringComparer.Ordinal)
    {
        ["none"] = [],
        ["read"] = ["read"],
        ["read-write"] = ["read", "write"],
        ["read-write-delete"] = ["read", "write", "delete"],
        ["read-grant"] = ["read", "grant"],
    };

    // Expected status per holder: none, read, read-write, read-write-delete, read-grant, owner, siteadmin.
    public static TheoryData<string, string, int> Matrix()
    {
        var rows = new (string Op, int[] Expected)[]
        {
            ("list", [404, 200, 200, 200, 200, 200, 200]),
            ("download", [404, 200, 200, 200, 200, 200, 200]),
            ("upload-new", [404, 403, 200, 200, 403, 200, 200]),
            ("overwrite", [404, 403, 200, 200, 403, 200, 200]),
            ("mkdir", [404, 403, 200, 200, 403, 200, 200]),
            ("delete", [404, 403, 403, 204, 403, 204, 204]),
            ("move-within", [404, 403, 403, 200, 403, 200, 200]),
            ("copy-out", [404, 200, 200, 200, 200, 200, 200]),
            ("share-on", [404, 403, 403, 403, 200, 200, 200]),
            ("rename-volume", [404, 403, 403, 403, 403, 200, 200]),
        };
        var holders = new[] { "none", "read", "read-write", "read-write-delete", "read-grant", "owner", "siteadmin" };
        var data = new TheoryData<string, string, int>();
        foreach (var (op, expected) in rows)
        {
            for (var i = 0; i < holders.Length; i++)
            {
                data.Add(op, holders[i], expected[i]);
            }
        }

        return data;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<PlatformFactory, Lazy<Task<Dictionary<string, (string Name, HttpClient Client)>>>> Casts = new();

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task FileOperation_ByEachKindOfHolder_IsAllowedOrRefused(string op, string holder, int expected)
    {
        // The people are made once per host (passwords are slow to hash); each case gets a fresh volume.
        var cast = await Casts.GetOrAdd(platform, p => new(() => CastAsync(p))).Value;
        var (owner, ownerClient) = cast["owner"];
        var volumeName = "shared" + Guid.NewGuid().ToString("N")[..6];
        Assert.Equal(HttpStatusCode.Created, (await ownerClient.PostAsJsonAsync("/api/files/volumes", new { rootVolume = "Storage", name = volumeName })).StatusCode);
        var volume = $"Storage/{owner}/{volumeName}";
        await ownerClient.PutAsync($"/api/files/content/{volume}/data.txt", new StringContent("data"));
        var resourceId = (await ownerClient.GetFromJsonAsync<JsonElement>("/api/files/volumes")).GetProperty("mine").EnumerateArray()
            .Single(v => v.GetProperty("name").GetString() == volumeName).GetProperty("resourceId").GetGuid();
        var (actor, client) = cast[holder];
        if (Grants.TryGetValue(holder, out var actions) && actions.Length > 0)
        {
            var granted = await ownerClient.PutAsJsonAsync($"/api/resources/{resourceId}/privileges", new { type = "user", name = actor, actions });
            Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        }

        var bystander = cast["bystander"].Name;
        var response = op switch
        {
            "list" => await client.GetAsync($"/api/files/list/{volume}"),
            "download" => await client.GetAsync($"/api/files/content/{volume}/data.txt"),
            "upload-new" => await client.PutAsync($"/api/files/content/{volume}/new.txt", new StringContent("new")),
            "overwrite" => await client.PutAsync($"/api/files/content/{volume}/data.txt", new StringContent("changed")),
            "mkdir" => await client.PutAsync($"/api/files/folder/{volume}/dir", null),
            "delete" => await client.DeleteAsync($"/api/files/entry/{volume}/data.txt"),
            "move-within" => await client.PostAsJsonAsync("/api/files/move", new { from = $"{volume}/data.txt", to = $"{volume}/moved.txt" }),
            "copy-out" => await client.PostAsJsonAsync("/api/files/copy", new { from = $"{volume}/data.txt", to = $"Temporary/{actor}/scratch/copied.txt" }),
            "share-on" => await client.PutAsJsonAsync($"/api/resources/{resourceId}/privileges", new { type = "user", name = bystander, actions = new[] { "read" } }),
            "rename-volume" => await client.PatchAsJsonAsync($"/api/files/volumes/Storage/{owner}/{volumeName}", new { name = volumeName + "x" }),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };

        Assert.True((int)response.StatusCode == expected, $"{holder} {op}: expected {expected}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        if (expected >= 400 && op is not ("list" or "download" or "copy-out"))
        {
            // A refusal changed nothing in the volume.
            var listing = await ownerClient.GetFromJsonAsync<JsonElement>($"/api/files/list/{volume}");
            Assert.Equal(["data.txt"], listing.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
            Assert.Equal("data", await ownerClient.GetStringAsync($"/api/files/content/{volume}/data.txt"));
        }
    }

    private static async Task<Dictionary<string, (string Name, HttpClient Client)>> CastAsync(PlatformFactory platform)
    {
        var cast = new Dictionary<string, (string, HttpClient)>(StringComparer.Ordinal)
        {
            ["siteadmin"] = ("admin", platform.CreateApiClient(await platform.LoginAdminAsync())),
        };
        foreach (var role in Grants.Keys.Append("owner").Append("bystander"))
        {
            var name = PlatformFactory.UniqueName("m");
            cast[role] = (name, platform.CreateApiClient(await platform.CreateUserAsync(name)));
        }

        return cast;
    }
}

public sealed class SharedVolumeMatrixSqliteTests(SqlitePlatform platform) : SharedVolumeMatrixTests(platform), IClassFixture<SqlitePlatform>;

public sealed class SharedVolumeMatrixPostgresTests(PostgresPlatform platform) : SharedVolumeMatrixTests(platform), IClassFixture<PostgresPlatform>;
