using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Groups;

/// <summary>The groups API as a scientist uses it, and the bad input it refuses, on both databases.</summary>
public abstract class GroupApiTests(PlatformFactory platform)
{
    [Fact]
    public async Task Lifecycle_CreateInviteAcceptPromoteHandOverLeave()
    {
        var w = await GroupWorld.ForAsync(platform);
        var owner = w["owner"].Client;
        var created = await owner.PostAsJsonAsync("/api/groups", new { name = "eROSITA clusters " + Guid.NewGuid().ToString("N")[..6], description = "Cluster catalogue work", accessibility = "Private" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var group = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = group.GetProperty("id").GetInt64();
        Assert.Equal("Owner", group.GetProperty("myRole").GetString());
        Assert.Equal($"/api/groups/{id}", created.Headers.Location?.OriginalString);

        // The invitation, by email, shows up for the invitee only.
        var spare = w["spare"];
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsJsonAsync($"/api/groups/{id}/invitations", new { user = $"{spare.Name}@example.org" })).StatusCode);
        var invitations = await spare.Client.GetFromJsonAsync<JsonElement[]>("/api/groups?scope=invitations");
        Assert.Contains(invitations!, g => g.GetProperty("id").GetInt64() == id && g.GetProperty("myStatus").GetString() == "Invited");
        Assert.DoesNotContain((await spare.Client.GetFromJsonAsync<JsonElement[]>("/api/groups"))!, g => g.GetProperty("id").GetInt64() == id);

        Assert.Equal(HttpStatusCode.OK, (await spare.Client.PostAsync($"/api/groups/{id}/accept", null)).StatusCode);
        Assert.Contains((await spare.Client.GetFromJsonAsync<JsonElement[]>("/api/groups"))!, g => g.GetProperty("id").GetInt64() == id && g.GetProperty("myRole").GetString() == "Member");

        // Ownership handed over, then the first owner may leave.
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.PostAsync($"/api/groups/{id}/leave", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.PutAsJsonAsync($"/api/groups/{id}/members/{spare.Id}/role", new { role = "Owner" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.PostAsync($"/api/groups/{id}/leave", null)).StatusCode);
        var after = await spare.Client.GetFromJsonAsync<JsonElement>($"/api/groups/{id}");
        var members = after.GetProperty("members").EnumerateArray().ToList();
        Assert.Equal(spare.Name, Assert.Single(members).GetProperty("username").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await owner.GetAsync($"/api/groups/{id}")).StatusCode);

        // The log tells the story, for the new owner.
        var log = await spare.Client.GetFromJsonAsync<JsonElement[]>($"/api/groups/{id}/activity");
        var kinds = log!.Select(e => e.GetProperty("kind").GetString()).Reverse().ToList();
        Assert.Equal(["Created", "Invited", "Accepted", "RoleChanged", "Left"], kinds);
        Assert.Contains(log!, e => e.GetProperty("detail").GetString() == $"changed the role of {spare.Name} from member to owner");
    }

    [Fact]
    public async Task PublicGroup_ListedForEveryone_AnyoneMayJoin()
    {
        var w = await GroupWorld.ForAsync(platform);
        var id = await w.CreateGroupAsync("Public");
        var outsider = w["outsider"].Client;

        Assert.Contains((await outsider.GetFromJsonAsync<JsonElement[]>("/api/groups?scope=public"))!, g => g.GetProperty("id").GetInt64() == id);
        Assert.Equal(HttpStatusCode.OK, (await outsider.GetAsync($"/api/groups/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await outsider.GetAsync($"/api/groups/{id}/activity")).StatusCode);

        var joined = await outsider.PostAsync($"/api/groups/{id}/join", null);
        Assert.Equal(HttpStatusCode.OK, joined.StatusCode);
        Assert.Equal("Member", (await joined.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("myRole").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await outsider.PostAsync($"/api/groups/{id}/join", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await outsider.PostAsync($"/api/groups/{id}/leave", null)).StatusCode);
    }

    [Fact]
    public async Task PrivateGroup_NotListedAsPublic_AndOutsidersCannotJoin()
    {
        var w = await GroupWorld.ForAsync(platform);
        var id = await w.CreateGroupAsync();

        Assert.DoesNotContain((await w["outsider"].Client.GetFromJsonAsync<JsonElement[]>("/api/groups?scope=public"))!, g => g.GetProperty("id").GetInt64() == id);
        Assert.Equal(HttpStatusCode.NotFound, (await w["outsider"].Client.PostAsync($"/api/groups/{id}/join", null)).StatusCode);
    }

    [Theory]
    [InlineData("<script>alert(1)</script>", "cannot hold '<'")]
    [InlineData("Tab\there", "control characters")]
    [InlineData("Null\u0000byte", "control characters")]
    [InlineData("ab", "3 to 64")]
    [InlineData("public", "system group")]
    [InlineData("ADMIN", "system group")]
    [InlineData("two  spaces", "two spaces")]
    public async Task Create_BadName_Returns400NamingTheProblem_AndCreatesNothing(string name, string problem)
    {
        var w = await GroupWorld.ForAsync(platform);
        var before = (await w["spare"].Client.GetFromJsonAsync<JsonElement[]>("/api/groups"))!.Length;

        var response = await w["spare"].Client.PostAsJsonAsync("/api/groups", new { name });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problemDetails = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(problem, problemDetails.GetProperty("errors").GetProperty("name")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(before, (await w["spare"].Client.GetFromJsonAsync<JsonElement[]>("/api/groups"))!.Length);
    }

    [Fact]
    public async Task Create_DuplicateNameInAnyCase_Returns409()
    {
        var w = await GroupWorld.ForAsync(platform);
        var name = "HETDEX Team " + Guid.NewGuid().ToString("N")[..6];
        Assert.Equal(HttpStatusCode.Created, (await w["owner"].Client.PostAsJsonAsync("/api/groups", new { name })).StatusCode);

        var again = await w["outsider"].Client.PostAsJsonAsync("/api/groups", new { name = name.ToUpperInvariant() });

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Theory]
    [InlineData("System")]
    [InlineData("Secret")]
    [InlineData("7")]
    public async Task Create_BadAccessibility_Returns400(string accessibility)
    {
        var w = await GroupWorld.ForAsync(platform);

        var response = await w["owner"].Client.PostAsJsonAsync("/api/groups", new { name = "Acc " + Guid.NewGuid().ToString("N")[..8], accessibility });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("nobody_by_this_name", HttpStatusCode.BadRequest, "There is no user")]
    [InlineData("", HttpStatusCode.BadRequest, "Name the user")]
    [InlineData("@self", HttpStatusCode.BadRequest, "cannot invite yourself")]
    [InlineData("@member", HttpStatusCode.Conflict, "is a member already")]
    [InlineData("@invited", HttpStatusCode.Conflict, "is invited already")]
    public async Task Invite_BadInvitee_IsRefusedWithAReason_AndChangesNothing(string user, HttpStatusCode status, string reason)
    {
        var w = await GroupWorld.ForAsync(platform);
        var id = await w.CreateGroupAsync();
        var before = await w.SnapshotAsync(id);
        user = user switch { "@self" => w["owner"].Name, "@member" => w["member"].Name, "@invited" => w["invited"].Name, _ => user };

        var response = await w["owner"].Client.PostAsJsonAsync($"/api/groups/{id}/invitations", new { user });

        Assert.Equal(status, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before, await w.SnapshotAsync(id));
    }

    [Fact]
    public async Task Invite_SameUserFiveTimesAtOnce_OneInvitation_OthersConflict_NeverA500()
    {
        var w = await GroupWorld.ForAsync(platform);
        var id = await w.CreateGroupAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ =>
            w["owner"].Client.PostAsJsonAsync($"/api/groups/{id}/invitations", new { user = w["spare"].Name })));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, $"{(int)r.StatusCode}"));
        var group = await w["owner"].Client.GetFromJsonAsync<JsonElement>($"/api/groups/{id}");
        Assert.Single(group.GetProperty("members").EnumerateArray(), m => m.GetProperty("username").GetString() == w["spare"].Name);
    }

    [Fact]
    public async Task SetRole_OnYourself_Returns400()
    {
        var w = await GroupWorld.ForAsync(platform);
        var id = await w.CreateGroupAsync();

        var response = await w["admin"].Client.PutAsJsonAsync($"/api/groups/{id}/members/{w["admin"].Id}/role", new { role = "Owner" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("your own role", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decline_ThenReinvite_WorksAgain_AndWithdrawnInvitationCannotBeAccepted()
    {
        var w = await GroupWorld.ForAsync(platform);
        var id = await w.CreateGroupAsync();
        var invited = w["invited"];

        Assert.Equal(HttpStatusCode.NoContent, (await invited.Client.PostAsync($"/api/groups/{id}/decline", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await invited.Client.GetAsync($"/api/groups/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await w["owner"].Client.PostAsJsonAsync($"/api/groups/{id}/invitations", new { user = invited.Name })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await w["owner"].Client.DeleteAsync($"/api/groups/{id}/invitations/{invited.Id}")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await invited.Client.PostAsync($"/api/groups/{id}/accept", null)).StatusCode);
    }

    [Fact]
    public async Task DeleteGroup_RemovesItForMembers()
    {
        var w = await GroupWorld.ForAsync(platform);
        var id = await w.CreateGroupAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await w["owner"].Client.DeleteAsync($"/api/groups/{id}")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await w["member"].Client.GetAsync($"/api/groups/{id}")).StatusCode);
        Assert.DoesNotContain((await w["member"].Client.GetFromJsonAsync<JsonElement[]>("/api/groups"))!, g => g.GetProperty("id").GetInt64() == id);
    }

    [Theory]
    [InlineData("/api/groups/abc")]
    [InlineData("/api/groups?scope=everything")]
    public async Task BadRouteOrQuery_Returns4xxProblemDetails(string url)
    {
        var w = await GroupWorld.ForAsync(platform);

        var response = await w["owner"].Client.GetAsync(url);

        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ListAll_IsForSiteAdminsOnly()
    {
        var w = await GroupWorld.ForAsync(platform);
        var id = await w.CreateGroupAsync();

        Assert.Equal(HttpStatusCode.Forbidden, (await w["owner"].Client.GetAsync("/api/groups?scope=all")).StatusCode);
        Assert.Contains((await w["siteadmin"].Client.GetFromJsonAsync<JsonElement[]>("/api/groups?scope=all"))!, g => g.GetProperty("id").GetInt64() == id);
    }
}

public sealed class GroupApiSqliteTests(SqlitePlatform platform) : GroupApiTests(platform), IClassFixture<SqlitePlatform>;

public sealed class GroupApiPostgresTests(PostgresPlatform platform) : GroupApiTests(platform), IClassFixture<PostgresPlatform>;
