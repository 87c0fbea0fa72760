using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compat;

/// <summary>SciServer's group routes (RACM UGM) as its web UI and scripts use them, on both databases.</summary>
public abstract class UgmTests(PlatformFactory platform)
{
    private const string Ugm = "/racm/ugm/rest";

    [Fact]
    public async Task CreateWithMembers_InviteeAccepts_ShownAsAccepted()
    {
        var owner = await NewUserAsync();
        var bob = await NewUserAsync();
        var carol = await NewUserAsync();
        var name = GroupName();

        var response = await Client(owner).PostAsJsonAsync($"{Ugm}/groups", new
        {
            groupName = name,
            description = "Galaxy zoo follow-up",
            memberUsers = new object[] { new { user = new { username = bob.Name } }, new { username = carol.Name, role = "admin" } },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var group = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = group.GetProperty("id").GetInt64();
        Assert.Equal(name, group.GetProperty("groupName").GetString());
        Assert.Equal("Galaxy zoo follow-up", group.GetProperty("description").GetString());
        Assert.Equal("PRIVATE", group.GetProperty("accessibility").GetString());
        Assert.Equal(owner.Name, group.GetProperty("owner").GetProperty("username").GetString());
        Assert.Equal(owner.Id, group.GetProperty("owner").GetProperty("id").GetString());
        Assert.Equal(("OWNER", "OWNER"), Membership(group, owner.Name));
        Assert.Equal(("MEMBER", "INVITED"), Membership(group, bob.Name));
        Assert.Equal(("ADMIN", "INVITED"), Membership(group, carol.Name));

        // The invitee finds the invitation among their groups, and accepts it.
        var bobsGroups = await Client(bob).GetFromJsonAsync<JsonElement[]>($"{Ugm}/groups");
        Assert.Equal(("MEMBER", "INVITED"), Membership(Single(bobsGroups!, id), bob.Name));
        var accept = await Client(bob).PostAsync($"{Ugm}/groups/accept?groupId={id}", null);
        Assert.Equal(HttpStatusCode.OK, accept.StatusCode);
        Assert.Equal(("MEMBER", "ACCEPTED"), Membership(await accept.Content.ReadFromJsonAsync<JsonElement>(), bob.Name));

        var seenByOwner = await Client(owner).GetFromJsonAsync<JsonElement>($"{Ugm}/groups/{id}");
        Assert.Equal(("MEMBER", "ACCEPTED"), Membership(seenByOwner, bob.Name));
        Assert.Equal(("ADMIN", "INVITED"), Membership(seenByOwner, carol.Name));
    }

    [Theory]
    [InlineData("user.username")]
    [InlineData("user.id")]
    [InlineData("username")]
    public async Task Create_MemberGivenByNameOrId_IsInvited(string form)
    {
        var owner = await NewUserAsync();
        var invitee = await NewUserAsync();
        object member = form switch
        {
            "user.username" => new { user = new { username = invitee.Name } },
            "user.id" => new { user = new { id = invitee.Id } },
            _ => new { username = invitee.Name },
        };

        var response = await Client(owner).PostAsJsonAsync($"{Ugm}/groups", new { groupName = GroupName(), memberUsers = new[] { member } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(("MEMBER", "INVITED"), Membership(await response.Content.ReadFromJsonAsync<JsonElement>(), invitee.Name));
    }

    [Fact]
    public async Task MyGroups_OwnerAdminMemberAndInvitee_ListsOnlyGroupsICanEdit()
    {
        var alice = await NewUserAsync();
        var others = await NewUserAsync();
        var owned = await CreateGroupAsync(alice);
        var asAdmin = await CreateGroupAsync(others, members: [new { username = alice.Name, role = "ADMIN" }]);
        var asMember = await CreateGroupAsync(others, members: [new { username = alice.Name }]);
        var adminInvitation = await CreateGroupAsync(others, members: [new { username = alice.Name, role = "Admin" }]);
        await AcceptAsync(alice, asAdmin);
        await AcceptAsync(alice, asMember);

        var editable = Ids(await Client(alice).GetFromJsonAsync<JsonElement[]>($"{Ugm}/mygroups"));
        var mine = Ids(await Client(alice).GetFromJsonAsync<JsonElement[]>($"{Ugm}/groups"));

        Assert.Equal(new[] { owned, asAdmin }.Order(), editable.Order());
        Assert.Equal(new[] { owned, asAdmin, asMember, adminInvitation }.Order(), mine.Order());
        Assert.DoesNotContain(owned, Ids(await Client(others).GetFromJsonAsync<JsonElement[]>($"{Ugm}/groups")));
    }

    [Fact]
    public async Task PublicGroups_PublicAndPrivateExist_ListsOnlyPublic()
    {
        var owner = await NewUserAsync();
        var outsider = await NewUserAsync();
        var open = await CreateGroupAsync(owner, accessibility: "public");
        var closed = await CreateGroupAsync(owner, accessibility: "Private");

        var listed = await Client(outsider).GetFromJsonAsync<JsonElement[]>($"{Ugm}/publicgroups");

        Assert.Equal("PUBLIC", Single(listed!, open).GetProperty("accessibility").GetString());
        Assert.DoesNotContain(closed, Ids(listed));
        Assert.All(listed!, g => Assert.Equal("PUBLIC", g.GetProperty("accessibility").GetString()));
    }

    [Fact]
    public async Task JoinThenLeave_PublicGroup_MembershipFollows()
    {
        var owner = await NewUserAsync();
        var joiner = await NewUserAsync();
        var id = await CreateGroupAsync(owner, accessibility: "PUBLIC");

        var join = await Client(joiner).PostAsync($"{Ugm}/groups/join?groupId={id}", null);

        Assert.Equal(HttpStatusCode.OK, join.StatusCode);
        Assert.True(await join.Content.ReadFromJsonAsync<bool>());
        Assert.Equal(("MEMBER", "ACCEPTED"), Membership(await Client(owner).GetFromJsonAsync<JsonElement>($"{Ugm}/groups/{id}"), joiner.Name));
        Assert.Contains(id, Ids(await Client(joiner).GetFromJsonAsync<JsonElement[]>($"{Ugm}/groups")));

        var leave = await Client(joiner).PostAsync($"{Ugm}/groups/leave?groupId={id}", null);

        Assert.Equal(HttpStatusCode.OK, leave.StatusCode);
        Assert.Equal("OK", await leave.Content.ReadFromJsonAsync<string>());
        Assert.Null(Membership(await Client(owner).GetFromJsonAsync<JsonElement>($"{Ugm}/groups/{id}"), joiner.Name));
        Assert.DoesNotContain(id, Ids(await Client(joiner).GetFromJsonAsync<JsonElement[]>($"{Ugm}/groups")));
    }

    [Fact]
    public async Task Join_PrivateGroup_Returns404AndDoesNotJoin()
    {
        var owner = await NewUserAsync();
        var outsider = await NewUserAsync();
        var id = await CreateGroupAsync(owner);

        var join = await Client(outsider).PostAsync($"{Ugm}/groups/join?groupId={id}", null);

        await SciServerAssert.ErrorAsync(join, HttpStatusCode.NotFound, "No such group");
        Assert.Null(Membership(await Client(owner).GetFromJsonAsync<JsonElement>($"{Ugm}/groups/{id}"), outsider.Name));
    }

    [Theory]
    [InlineData("PRIVATE", "No such group")]
    [InlineData("PUBLIC", "no open invitation")]
    public async Task Decline_Invitation_InvitationGone(string accessibility, string acceptAfterwards)
    {
        var owner = await NewUserAsync();
        var invitee = await NewUserAsync();
        var id = await CreateGroupAsync(owner, accessibility: accessibility, members: [new { username = invitee.Name, role = "ADMIN" }]);

        var decline = await Client(invitee).PostAsync($"{Ugm}/groups/decline?groupId={id}", null);

        Assert.Equal(HttpStatusCode.OK, decline.StatusCode);
        Assert.Equal(("ADMIN", "DECLINED"), Membership(await decline.Content.ReadFromJsonAsync<JsonElement>(), invitee.Name));
        Assert.DoesNotContain(id, Ids(await Client(invitee).GetFromJsonAsync<JsonElement[]>($"{Ugm}/groups")));
        Assert.Null(Membership(await Client(owner).GetFromJsonAsync<JsonElement>($"{Ugm}/groups/{id}"), invitee.Name));
        await SciServerAssert.ErrorAsync(await Client(invitee).PostAsync($"{Ugm}/groups/accept?groupId={id}", null), HttpStatusCode.NotFound, acceptAfterwards);
    }

    [Fact]
    public async Task Patch_RenameDescribeAndOpen_ChangesShown()
    {
        var owner = await NewUserAsync();
        var id = await CreateGroupAsync(owner);
        var newName = GroupName();

        var response = await Client(owner).PatchAsJsonAsync($"{Ugm}/groups/{id}", new { name = newName, description = "Now open to all", accessibility = "public" });

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var group = await Client(owner).GetFromJsonAsync<JsonElement>($"{Ugm}/groups/{id}");
        Assert.Equal(newName, group.GetProperty("groupName").GetString());
        Assert.Equal("Now open to all", group.GetProperty("description").GetString());
        Assert.Equal("PUBLIC", group.GetProperty("accessibility").GetString());
    }

    [Fact]
    public async Task Patch_ByPlainMember_Returns403AndKeepsName()
    {
        var owner = await NewUserAsync();
        var member = await NewUserAsync();
        var name = GroupName();
        var id = await CreateGroupAsync(owner, name, members: [new { username = member.Name }]);
        await AcceptAsync(member, id);

        var response = await Client(member).PatchAsJsonAsync($"{Ugm}/groups/{id}", new { name = GroupName() });

        await SciServerAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "owners and admins");
        Assert.Equal(name, (await Client(owner).GetFromJsonAsync<JsonElement>($"{Ugm}/groups/{id}")).GetProperty("groupName").GetString());
    }

    [Fact]
    public async Task Delete_ByMemberThenByOwner_403ThenGone()
    {
        var owner = await NewUserAsync();
        var member = await NewUserAsync();
        var id = await CreateGroupAsync(owner, members: [new { username = member.Name, role = "ADMIN" }]);
        await AcceptAsync(member, id);

        var refused = await Client(member).DeleteAsync($"{Ugm}/groups/{id}");

        await SciServerAssert.ErrorAsync(refused, HttpStatusCode.Forbidden, "owners");
        Assert.Equal(HttpStatusCode.OK, (await Client(owner).GetAsync($"{Ugm}/groups/{id}")).StatusCode);

        var deleted = await Client(owner).DeleteAsync($"{Ugm}/groups/{id}");

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal("OK", await deleted.Content.ReadFromJsonAsync<string>());
        await SciServerAssert.ErrorAsync(await Client(owner).GetAsync($"{Ugm}/groups/{id}"), HttpStatusCode.NotFound, "No such group");
        Assert.DoesNotContain(id, Ids(await Client(member).GetFromJsonAsync<JsonElement[]>($"{Ugm}/groups")));
    }

    [Fact]
    public async Task Get_PrivateGroupAsOutsider_Returns404LikeMissingGroup()
    {
        var owner = await NewUserAsync();
        var outsider = await NewUserAsync();
        var id = await CreateGroupAsync(owner);

        var hidden = await Client(outsider).GetAsync($"{Ugm}/groups/{id}");
        var missing = await Client(outsider).GetAsync($"{Ugm}/groups/{long.MaxValue}");

        var hiddenMessage = await SciServerAssert.ErrorAsync(hidden, HttpStatusCode.NotFound, "No such group");
        Assert.Equal(hiddenMessage, await SciServerAssert.ErrorAsync(missing, HttpStatusCode.NotFound, "No such group"));
        await SciServerAssert.ErrorAsync(await Client(outsider).DeleteAsync($"{Ugm}/groups/{id}"), HttpStatusCode.NotFound, "No such group");
    }

    [Theory]
    [InlineData("html-name", "cannot hold '<'")]
    [InlineData("unknown-invitee", "There is no user 'nobody_")]
    [InlineData("bad-role", "role is one of MEMBER, ADMIN, OWNER")]
    [InlineData("bad-accessibility", "accessibility is one of PRIVATE, PUBLIC, SYSTEM")]
    [InlineData("system-accessibility", "system groups")]
    [InlineData("owner-invitee", "as MEMBER or ADMIN")]
    [InlineData("nameless-member", "names a user")]
    [InlineData("bad-user-id", "is not a user id")]
    public async Task Create_BadInput_Returns400AndCreatesNothing(string problem, string expected)
    {
        var owner = await NewUserAsync();
        var invitee = await NewUserAsync();
        var name = GroupName();
        object body = problem switch
        {
            "html-name" => new { groupName = "<b>Bold</b> group" },
            "unknown-invitee" => new { groupName = name, memberUsers = new object[] { new { username = invitee.Name }, new { user = new { username = "nobody_" + Guid.NewGuid().ToString("N")[..8] } } } },
            "bad-role" => new { groupName = name, memberUsers = new[] { new { username = invitee.Name, role = "boss" } } },
            "bad-accessibility" => new { groupName = name, accessibility = "secret" },
            "system-accessibility" => new { groupName = name, accessibility = "SYSTEM" },
            "owner-invitee" => new { groupName = name, memberUsers = new[] { new { username = invitee.Name, role = "OWNER" } } },
            "nameless-member" => new { groupName = name, memberUsers = new[] { new { role = "MEMBER" } } },
            "bad-user-id" => new { groupName = name, memberUsers = new[] { new { user = new { id = "42" } } } },
            _ => throw new ArgumentOutOfRangeException(nameof(problem)),
        };

        var response = await Client(owner).PostAsJsonAsync($"{Ugm}/groups", body);

        await SciServerAssert.ErrorAsync(response, HttpStatusCode.BadRequest, expected);
        Assert.Empty((await Client(owner).GetFromJsonAsync<JsonElement[]>($"{Ugm}/mygroups"))!);
        Assert.Empty((await Client(invitee).GetFromJsonAsync<JsonElement[]>($"{Ugm}/groups"))!);
        // The name was not taken by a half-made group.
        Assert.Equal(HttpStatusCode.OK, (await Client(owner).PostAsJsonAsync($"{Ugm}/groups", new { groupName = name })).StatusCode);
    }

    [Theory]
    [InlineData("accept", "", "Name the group: ?groupId=")]
    [InlineData("decline", "?groupId=", "Name the group: ?groupId=")]
    [InlineData("join", "?groupId=abc", "'abc' is not")]
    [InlineData("leave", "?groupId=-1", "'-1' is not")]
    public async Task GroupIdParameter_MissingOrNotANumber_Returns400(string action, string query, string expected)
    {
        var user = await NewUserAsync();

        var response = await Client(user).PostAsync($"{Ugm}/groups/{action}{query}", null);

        await SciServerAssert.ErrorAsync(response, HttpStatusCode.BadRequest, expected);
    }

    [Fact]
    public async Task PostWithId_RenameAndNewMember_UpdatesAndInvites()
    {
        var owner = await NewUserAsync();
        var member = await NewUserAsync();
        var newcomer = await NewUserAsync();
        var id = await CreateGroupAsync(owner, members: [new { username = member.Name }]);
        var newName = GroupName();

        // What the web UI does: post the group back as it got it, edited.
        var group = await Client(owner).GetFromJsonAsync<JsonElement>($"{Ugm}/groups/{id}");
        var members = group.GetProperty("memberUsers").EnumerateArray().Select(m => (object)m).Append(new { user = new { username = newcomer.Name } }).ToArray();
        var response = await Client(owner).PostAsJsonAsync($"{Ugm}/groups", new { id, groupName = newName, description = group.GetProperty("description").GetString(), accessibility = "PRIVATE", memberUsers = members });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var updated = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(id, updated.GetProperty("id").GetInt64());
        Assert.Equal(newName, updated.GetProperty("groupName").GetString());
        Assert.Equal(("OWNER", "OWNER"), Membership(updated, owner.Name));
        Assert.Equal(("MEMBER", "INVITED"), Membership(updated, member.Name));
        Assert.Equal(("MEMBER", "INVITED"), Membership(updated, newcomer.Name));
        Assert.Equal(3, updated.GetProperty("memberUsers").GetArrayLength());
        Assert.Contains(id, Ids(await Client(newcomer).GetFromJsonAsync<JsonElement[]>($"{Ugm}/groups")));
    }

    [Theory]
    [InlineData("unknown-invitee", HttpStatusCode.BadRequest, "There is no user")]
    [InlineData("withdraw-member", HttpStatusCode.BadRequest, "only invites")]
    [InlineData("change-role", HttpStatusCode.BadRequest, "does not change roles")]
    [InlineData("by-plain-member", HttpStatusCode.Forbidden, "owners and admins")]
    public async Task PostWithId_Refused_ChangesNothing(string problem, HttpStatusCode status, string expected)
    {
        var owner = await NewUserAsync();
        var member = await NewUserAsync();
        var newcomer = await NewUserAsync();
        var name = GroupName();
        var id = await CreateGroupAsync(owner, name, members: [new { username = member.Name }]);
        await AcceptAsync(member, id);
        var (caller, members) = problem switch
        {
            "unknown-invitee" => (owner, new object[] { new { username = newcomer.Name }, new { username = "nobody_" + Guid.NewGuid().ToString("N")[..8] } }),
            "withdraw-member" => (owner, new object[] { new { username = newcomer.Name }, new { username = member.Name, status = "WITHDRAWN" } }),
            "change-role" => (owner, new object[] { new { username = newcomer.Name }, new { username = member.Name, role = "ADMIN" } }),
            "by-plain-member" => (member, new object[] { new { username = newcomer.Name } }),
            _ => throw new ArgumentOutOfRangeException(nameof(problem)),
        };

        var response = await Client(caller).PostAsJsonAsync($"{Ugm}/groups", new { id, groupName = GroupName(), memberUsers = members });

        await SciServerAssert.ErrorAsync(response, status, expected);
        var group = await Client(owner).GetFromJsonAsync<JsonElement>($"{Ugm}/groups/{id}");
        Assert.Equal(name, group.GetProperty("groupName").GetString());
        Assert.Equal(("MEMBER", "ACCEPTED"), Membership(group, member.Name));
        Assert.Null(Membership(group, newcomer.Name));
    }

    [Fact]
    public async Task Token_InQueryOrPortalCookie_IsAccepted()
    {
        var user = await NewUserAsync();
        var id = await CreateGroupAsync(user);
        using var anonymous = platform.CreateApiClient();

        var byQuery = await anonymous.GetFromJsonAsync<JsonElement[]>($"{Ugm}/groups?token={user.Token}");
        using var withCookie = new HttpRequestMessage(HttpMethod.Get, $"{Ugm}/mygroups");
        withCookie.Headers.Add("Cookie", $"portalCookie={user.Token}");
        var byCookie = await anonymous.SendAsync(withCookie);

        Assert.Contains(id, Ids(byQuery));
        Assert.Equal(HttpStatusCode.OK, byCookie.StatusCode);
        Assert.Contains(id, Ids(await byCookie.Content.ReadFromJsonAsync<JsonElement[]>()));
        // A state change with ?token= is not ambient, so it needs no antiforgery token.
        var viaQuery = await anonymous.PostAsJsonAsync($"{Ugm}/groups?token={user.Token}", new { groupName = GroupName() });
        Assert.Equal(HttpStatusCode.OK, viaQuery.StatusCode);
    }

    [Fact]
    public async Task NoToken_Returns401WithSciServerError()
    {
        using var anonymous = platform.CreateApiClient();

        await SciServerAssert.ErrorAsync(await anonymous.GetAsync($"{Ugm}/groups"), HttpStatusCode.Unauthorized, "X-Auth-Token");
        await SciServerAssert.ErrorAsync(await anonymous.PostAsJsonAsync($"{Ugm}/groups", new { groupName = GroupName() }), HttpStatusCode.Unauthorized, "X-Auth-Token");
    }

    [Fact]
    public async Task PortalCookiePost_WithoutAntiforgeryToken_Returns400AndCreatesNothing()
    {
        var user = await NewUserAsync();
        using var anonymous = platform.CreateApiClient();
        using var forged = new HttpRequestMessage(HttpMethod.Post, $"{Ugm}/groups") { Content = JsonContent.Create(new { groupName = GroupName() }) };
        forged.Headers.Add("Cookie", $"portalCookie={user.Token}");

        var response = await anonymous.SendAsync(forged);

        await SciServerAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "antiforgery");
        Assert.Empty((await Client(user).GetFromJsonAsync<JsonElement[]>($"{Ugm}/mygroups"))!);
    }

    [Fact]
    public async Task Routes_AnyCaseAndTaskName_Work()
    {
        var owner = await NewUserAsync();
        var invitee = await NewUserAsync();
        var id = await CreateGroupAsync(owner, members: [new { username = invitee.Name }]);

        var accept = await Client(invitee).PostAsync($"/RACM/UGM/Rest/Groups/Accept?GroupId={id}&TaskName=Compute.UI.Groups", null);
        var listed = await Client(invitee).GetAsync($"/racm/ugm/rest/MyGroups?TaskName=x");

        Assert.Equal(HttpStatusCode.OK, accept.StatusCode);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Equal(("MEMBER", "ACCEPTED"), Membership(await Client(owner).GetFromJsonAsync<JsonElement>($"{Ugm}/GROUPS/{id}?TaskName=x"), invitee.Name));
    }

    private sealed record TestUser(string Name, string Id, string Token);

    private async Task<TestUser> NewUserAsync()
    {
        var name = PlatformFactory.UniqueName();
        var token = await platform.CreateUserAsync(name);
        var account = await Client(token).GetFromJsonAsync<JsonElement>("/api/account");
        return new TestUser(name, account.GetProperty("id").GetString()!, token);
    }

    private HttpClient Client(TestUser user) => Client(user.Token);

    private HttpClient Client(string token) => platform.CreateApiClient(token);

    private static string GroupName() => "Group " + Guid.NewGuid().ToString("N")[..10];

    private async Task<long> CreateGroupAsync(TestUser owner, string? name = null, string? accessibility = null, object[]? members = null)
    {
        var response = await Client(owner).PostAsJsonAsync($"{Ugm}/groups", new { groupName = name ?? GroupName(), accessibility, memberUsers = members });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    private async Task AcceptAsync(TestUser user, long id)
    {
        var response = await Client(user).PostAsync($"{Ugm}/groups/accept?groupId={id}", null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>(role, status) of the user in the group, or null when not listed.</summary>
    private static (string Role, string Status)? Membership(JsonElement group, string username)
    {
        foreach (var m in group.GetProperty("memberUsers").EnumerateArray())
        {
            if (m.GetProperty("user").GetProperty("username").GetString() == username)
            {
                return (m.GetProperty("role").GetString()!, m.GetProperty("status").GetString()!);
            }
        }

        return null;
    }

    private static JsonElement Single(JsonElement[] groups, long id) => Assert.Single(groups, g => g.GetProperty("id").GetInt64() == id);

    private static List<long> Ids(JsonElement[]? groups) => [.. groups!.Select(g => g.GetProperty("id").GetInt64())];
}

public sealed class UgmSqliteTests(SqlitePlatform platform) : UgmTests(platform), IClassFixture<SqlitePlatform>;

public sealed class UgmPostgresTests(PostgresPlatform platform) : UgmTests(platform), IClassFixture<PostgresPlatform>;
