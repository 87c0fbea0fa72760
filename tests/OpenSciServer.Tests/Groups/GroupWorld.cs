using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Groups;

/// <summary>
/// The cast of a group test, made once per test host: an owner, a group admin, two members, an
/// invitee, an outsider, a spare user to invite, and the site admin. Each test then builds its own group.
/// </summary>
public sealed class GroupWorld
{
    private static readonly ConcurrentDictionary<PlatformFactory, Lazy<Task<GroupWorld>>> Worlds = new();

    private GroupWorld(PlatformFactory platform, Dictionary<string, Person> people)
    {
        Platform = platform;
        People = people;
    }

    public PlatformFactory Platform { get; }

    public IReadOnlyDictionary<string, Person> People { get; }

    public Person this[string role] => People[role];

    public static Task<GroupWorld> ForAsync(PlatformFactory platform) =>
        Worlds.GetOrAdd(platform, p => new Lazy<Task<GroupWorld>>(() => CreateAsync(p))).Value;

    /// <summary>A new private group: owner, admin, member, member2 accepted; invited invited; outsider and spare not in it.</summary>
    public async Task<long> CreateGroupAsync(string accessibility = "Private")
    {
        var created = await this["owner"].Client.PostAsJsonAsync("/api/groups",
            new { name = "Group " + Guid.NewGuid().ToString("N")[..12], description = "a test group", accessibility });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        foreach (var (who, role) in new[] { ("admin", "Admin"), ("member", "Member"), ("member2", "Member"), ("invited", "Member") })
        {
            var invite = await this["owner"].Client.PostAsJsonAsync($"/api/groups/{id}/invitations", new { user = this[who].Name, role });
            Assert.Equal(HttpStatusCode.OK, invite.StatusCode);
            if (who != "invited")
            {
                Assert.Equal(HttpStatusCode.OK, (await this[who].Client.PostAsync($"/api/groups/{id}/accept", null)).StatusCode);
            }
        }

        return id;
    }

    /// <summary>The group as the site admin sees it, with its activity log: to check that a refusal changed nothing.</summary>
    public async Task<string> SnapshotAsync(long id)
    {
        var group = await this["siteadmin"].Client.GetStringAsync($"/api/groups/{id}");
        var log = await this["siteadmin"].Client.GetStringAsync($"/api/groups/{id}/activity");
        return group + "\n" + log;
    }

    private static async Task<GroupWorld> CreateAsync(PlatformFactory platform)
    {
        var people = new Dictionary<string, Person>(StringComparer.Ordinal);
        foreach (var role in new[] { "owner", "admin", "member", "member2", "invited", "outsider", "spare" })
        {
            var name = PlatformFactory.UniqueName(role.Length > 6 ? role[..6] : role);
            var token = await platform.CreateUserAsync(name);
            var client = platform.CreateApiClient(token);
            var id = (await client.GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("id").GetGuid();
            people[role] = new Person(name, id, client);
        }

        var adminClient = platform.CreateApiClient(await platform.LoginAdminAsync());
        var adminId = (await adminClient.GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("id").GetGuid();
        people["siteadmin"] = new Person("admin", adminId, adminClient);
        return new GroupWorld(platform, people);
    }
}

public sealed record Person(string Name, Guid Id, HttpClient Client);
