using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Authorization;
using OpenSciServer.Tests.Groups;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Authorization;

/// <summary>
/// The one authorization service, as features will use it: a resource registered by its owner, shared
/// with users and groups, reached through group membership, and lost at once when membership ends.
/// </summary>
public abstract class AccessServiceTests(PlatformFactory platform)
{
    [Fact]
    public async Task GroupShare_MembersReachIt_InviteesAndOutsidersDoNot_RemovalTakesEffectOnTheNextRequest()
    {
        var w = await GroupWorld.ForAsync(platform);
        var groupId = await w.CreateGroupAsync();
        var groupName = (await w["owner"].Client.GetFromJsonAsync<JsonElement>($"/api/groups/{groupId}")).GetProperty("name").GetString();
        var resource = await RegisterAsync(ResourceTypes.UserVolume, w["owner"].Id, "Storage/owner/shared-by-group");

        var share = await w["owner"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "group", name = groupName, actions = new[] { "read", "write" } });
        Assert.Equal(HttpStatusCode.OK, share.StatusCode);

        Assert.Equal("read,write", await MyActionsAsync(w["member"], resource));
        Assert.Null(await MyActionsAsync(w["invited"], resource));
        Assert.Null(await MyActionsAsync(w["outsider"], resource));
        Assert.Contains((await w["member"].Client.GetFromJsonAsync<JsonElement[]>("/api/resources/shared-with-me?type=user-volume"))!,
            r => r.GetProperty("id").GetGuid() == resource && r.GetProperty("owner").GetString() == w["owner"].Name);
        var shared = await w["member"].Client.GetFromJsonAsync<JsonElement[]>($"/api/groups/{groupId}/resources");
        Assert.Contains(shared!, r => r.GetProperty("id").GetGuid() == resource);

        Assert.Equal(HttpStatusCode.OK, (await w["owner"].Client.DeleteAsync($"/api/groups/{groupId}/members/{w["member"].Id}")).StatusCode);
        Assert.Null(await MyActionsAsync(w["member"], resource));
        Assert.DoesNotContain((await w["member"].Client.GetFromJsonAsync<JsonElement[]>("/api/resources/shared-with-me?type=user-volume"))!,
            r => r.GetProperty("id").GetGuid() == resource);

        // Back in the group, back in reach; and the invitee reaches it from the moment of accepting.
        await w["owner"].Client.PostAsJsonAsync($"/api/groups/{groupId}/invitations", new { user = w["member"].Name });
        await w["member"].Client.PostAsync($"/api/groups/{groupId}/accept", null);
        await w["invited"].Client.PostAsync($"/api/groups/{groupId}/accept", null);
        Assert.Equal("read,write", await MyActionsAsync(w["member"], resource));
        Assert.Equal("read,write", await MyActionsAsync(w["invited"], resource));

        var log = await w["owner"].Client.GetFromJsonAsync<JsonElement[]>($"/api/groups/{groupId}/activity");
        Assert.Contains(log!, e => e.GetProperty("kind").GetString() == "Shared" && e.GetProperty("detail").GetString()!.Contains("Storage/owner/shared-by-group", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UserShare_ReadOnly_GrantsReadNotWrite_RevokeTakesEffectOnTheNextRequest()
    {
        var w = await GroupWorld.ForAsync(platform);
        var resource = await RegisterAsync(ResourceTypes.UserVolume, w["owner"].Id, "Storage/owner/readonly-" + Guid.NewGuid().ToString("N")[..6]);
        await w["owner"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "user", name = w["outsider"].Name, actions = new[] { "read" } });

        Assert.Equal("read", await MyActionsAsync(w["outsider"], resource));
        // Who else holds it is for those who may share it.
        Assert.Equal(HttpStatusCode.Forbidden, (await w["outsider"].Client.GetAsync($"/api/resources/{resource}/privileges")).StatusCode);
        await using (var scope = platform.Services.CreateAsyncScope())
        {
            var access = scope.ServiceProvider.GetRequiredService<AccessService>();
            var caller = new OpenSciServer.Accounts.Caller(w["outsider"].Id, w["outsider"].Name, false);
            var info = (await access.FindAsync(resource, default))!;
            Assert.True(await access.CanAsync(caller, ResourceTypes.UserVolume, info.Key, ResourceActions.Read, default));
            var refused = await Assert.ThrowsAsync<OpenSciServer.Infrastructure.PlatformException>(() =>
                access.DemandAsync(caller, ResourceTypes.UserVolume, info.Key, ResourceActions.Write, "No such volume.", default));
            Assert.Equal(403, refused.StatusCode);
        }

        var revoke = await w["owner"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "user", name = w["outsider"].Name, actions = Array.Empty<string>() });
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Null(await MyActionsAsync(w["outsider"], resource));
    }

    [Fact]
    public async Task Grant_NeverBeyondWhatTheGranterHolds()
    {
        var w = await GroupWorld.ForAsync(platform);
        var resource = await RegisterAsync(ResourceTypes.UserVolume, w["owner"].Id, "Storage/owner/regrant-" + Guid.NewGuid().ToString("N")[..6]);
        await w["owner"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "user", name = w["member"].Name, actions = new[] { "read", "grant" } });
        await w["owner"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "user", name = w["member2"].Name, actions = new[] { "read" } });

        var further = await w["member"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "user", name = w["spare"].Name, actions = new[] { "read" } });
        var beyond = await w["member"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "user", name = w["outsider"].Name, actions = new[] { "read", "write" } });
        var noGrant = await w["member2"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "user", name = w["outsider"].Name, actions = new[] { "read" } });
        var stranger = await w["outsider"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "user", name = w["outsider"].Name, actions = new[] { "read" } });

        Assert.Equal(HttpStatusCode.OK, further.StatusCode);
        Assert.Equal("read", await MyActionsAsync(w["spare"], resource));
        Assert.Equal(HttpStatusCode.Forbidden, beyond.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, noGrant.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, stranger.StatusCode);
        Assert.Null(await MyActionsAsync(w["outsider"], resource));
    }

    [Fact]
    public async Task PublicGroupShare_ReachesEveryUser_SiteAdminHoldsEverything()
    {
        var w = await GroupWorld.ForAsync(platform);
        var resource = await RegisterAsync(ResourceTypes.DataVolume, null, "eRASS1-" + Guid.NewGuid().ToString("N")[..6]);

        var share = await w["siteadmin"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "group", name = "public", actions = new[] { "read" } });

        Assert.Equal(HttpStatusCode.OK, share.StatusCode);
        Assert.Equal("read", await MyActionsAsync(w["outsider"], resource));
        Assert.Equal("read,write,grant", await MyActionsAsync(w["siteadmin"], resource));
        Assert.Equal(HttpStatusCode.Forbidden,
            (await w["outsider"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "group", name = "public", actions = new[] { "read", "write" } })).StatusCode);
    }

    [Theory]
    [InlineData("user", "nobody_at_all", "read", HttpStatusCode.BadRequest, "no user named")]
    [InlineData("group", "no such group here", "read", HttpStatusCode.BadRequest, "no group named")]
    [InlineData("robot", "x", "read", HttpStatusCode.BadRequest, "\\\"user\\\" or \\\"group\\\"")]
    [InlineData("user", "@member", "query", HttpStatusCode.BadRequest, "not an action on a user volume")]
    [InlineData("user", "@member", "1", HttpStatusCode.BadRequest, "not an action")]
    [InlineData("user", "@member", "read,write", HttpStatusCode.BadRequest, "not an action")]
    [InlineData("user", "@owner", "read", HttpStatusCode.BadRequest, "owns this resource")]
    public async Task Share_BadPrincipalOrAction_Returns400AndGrantsNothing(string type, string name, string action, HttpStatusCode status, string reason)
    {
        var w = await GroupWorld.ForAsync(platform);
        var resource = await RegisterAsync(ResourceTypes.UserVolume, w["siteadmin"].Id, "Storage/admin/bad-" + Guid.NewGuid().ToString("N")[..6]);
        name = name switch { "@member" => w["member"].Name, "@owner" => "admin", _ => name };

        var response = await w["siteadmin"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type, name, actions = new[] { action } });

        Assert.Equal(status, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await w["siteadmin"].Client.GetFromJsonAsync<JsonElement[]>($"/api/resources/{resource}/privileges"))!);
    }

    [Fact]
    public async Task PrivateGroup_CannotBeNamedByOutsidersWhenSharing()
    {
        var w = await GroupWorld.ForAsync(platform);
        var groupId = await w.CreateGroupAsync();
        var groupName = (await w["owner"].Client.GetFromJsonAsync<JsonElement>($"/api/groups/{groupId}")).GetProperty("name").GetString();
        var resource = await RegisterAsync(ResourceTypes.UserVolume, w["outsider"].Id, "Storage/outsider/x-" + Guid.NewGuid().ToString("N")[..6]);

        var response = await w["outsider"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "group", name = groupName, actions = new[] { "read" } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("no group named", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownResource_And_UnreachableResource_GiveTheSame404()
    {
        var w = await GroupWorld.ForAsync(platform);
        var resource = await RegisterAsync(ResourceTypes.UserVolume, w["owner"].Id, "Storage/owner/private-" + Guid.NewGuid().ToString("N")[..6]);

        var unreachable = await w["outsider"].Client.GetAsync($"/api/resources/{resource}");
        var unknown = await w["outsider"].Client.GetAsync($"/api/resources/{Guid.NewGuid()}");

        Assert.Equal(HttpStatusCode.NotFound, unreachable.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal((await unknown.Content.ReadAsStringAsync()).Split("\"traceId\"")[0], (await unreachable.Content.ReadAsStringAsync()).Split("\"traceId\"")[0]);
    }

    [Fact]
    public async Task DeletingAGroup_DropsWhatWasSharedWithIt()
    {
        var w = await GroupWorld.ForAsync(platform);
        var groupId = await w.CreateGroupAsync();
        var groupName = (await w["owner"].Client.GetFromJsonAsync<JsonElement>($"/api/groups/{groupId}")).GetProperty("name").GetString();
        var resource = await RegisterAsync(ResourceTypes.UserVolume, w["owner"].Id, "Storage/owner/gone-" + Guid.NewGuid().ToString("N")[..6]);
        await w["owner"].Client.PutAsJsonAsync($"/api/resources/{resource}/privileges", new { type = "group", name = groupName, actions = new[] { "read" } });

        await w["owner"].Client.DeleteAsync($"/api/groups/{groupId}");

        Assert.Null(await MyActionsAsync(w["member"], resource));
        Assert.Empty((await w["owner"].Client.GetFromJsonAsync<JsonElement[]>($"/api/resources/{resource}/privileges"))!);
    }

    private async Task<Guid> RegisterAsync(ResourceType type, Guid? owner, string key)
    {
        await using var scope = platform.Services.CreateAsyncScope();
        var access = scope.ServiceProvider.GetRequiredService<AccessService>();
        return (await access.RegisterAsync(type, key, key, owner, default)).Id;
    }

    /// <summary>The caller's actions on a resource, or null when it answers 404.</summary>
    private static async Task<string?> MyActionsAsync(Person person, Guid resource)
    {
        var response = await person.Client.GetAsync($"/api/resources/{resource}");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return string.Join(',', (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("myActions").EnumerateArray().Select(a => a.GetString()));
    }
}

public sealed class AccessServiceSqliteTests(SqlitePlatform platform) : AccessServiceTests(platform), IClassFixture<SqlitePlatform>;

public sealed class AccessServicePostgresTests(PostgresPlatform platform) : AccessServiceTests(platform), IClassFixture<PostgresPlatform>;
