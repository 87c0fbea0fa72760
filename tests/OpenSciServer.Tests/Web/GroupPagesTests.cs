using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Web;

/// <summary>The Groups pages, driven through their server-rendered forms as a browser without JavaScript would.</summary>
public sealed class GroupPagesTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    private const string Password = "a-good-long-password";

    [Fact]
    public async Task CreateForm_HtmlName_Returns400WithMessageBesideTheField_AndCreatesNothing()
    {
        var (name, token) = await NewUserAsync();
        using var browser = await LogInAsync(name);

        var (response, html) = await browser.SubmitAsync("/groups", "create-group",
            [new("Input.Name", "<b>bold</b> team"), new("Input.Description", "x"), new("Input.Accessibility", "Private")]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Matches("<div class=\"validation-message\">A group name cannot hold &#x27;&lt;&#x27;", html);
        Assert.DoesNotContain("<b>bold</b>", html, StringComparison.Ordinal);
        // The form keeps what was typed, escaped, so it can be corrected.
        Assert.Contains("value=\"&lt;b&gt;bold&lt;/b&gt; team\"", html, StringComparison.Ordinal);
        Assert.Empty(await ListAsync(token, "mine"));
    }

    [Fact]
    public async Task CreateForm_ValidInput_RedirectsToTheNewGroupsPage()
    {
        var (name, token) = await NewUserAsync();
        using var browser = await LogInAsync(name);
        var groupName = "Survey " + name;

        var (response, _) = await browser.SubmitAsync("/groups", "create-group",
            [new("Input.Name", groupName), new("Input.Description", "Line one\nline two"), new("Input.Accessibility", "Public")]);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var group = Assert.Single(await ListAsync(token, "mine"));
        Assert.Equal($"/groups/{Id(group)}", new Uri(new Uri("http://localhost"), response.Headers.Location!).AbsolutePath);
        Assert.Equal("Public", group.GetProperty("accessibility").GetString());
        var (page, html) = await browser.GetAsync($"/groups/{Id(group)}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains($"data-testid=\"group-name\">{groupName}<", html, StringComparison.Ordinal);
        Assert.Contains("you are <span class=\"badge rounded-pill text-bg-primary\" data-testid=\"my-role\">owner</span>", html, StringComparison.Ordinal);
        Assert.Contains("Nothing is shared with this group yet. Share volumes, catalogs and tables from their own pages.", html, StringComparison.Ordinal);
        Assert.Contains("created the group (public)", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateForm_NameTakenInAnotherCase_Returns409BesideTheName()
    {
        var (name, token) = await NewUserAsync();
        await CreateGroupAsync(token, "Taken " + name);
        using var browser = await LogInAsync(name);

        var (response, html) = await browser.SubmitAsync("/groups", "create-group",
            [new("Input.Name", ("Taken " + name).ToUpperInvariant()), new("Input.Accessibility", "Private")]);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("<div class=\"validation-message\">A group named", html, StringComparison.Ordinal);
        Assert.Single(await ListAsync(token, "mine"));
    }

    [Fact]
    public async Task CreateForm_SystemAccessibility_Returns400AndCreatesNothing()
    {
        var (name, token) = await NewUserAsync();
        using var browser = await LogInAsync(name);

        var (response, html) = await browser.SubmitAsync("/groups", "create-group",
            [new("Input.Name", "Sys " + name), new("Input.Accessibility", "System")]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Only the platform creates system groups", html, StringComparison.Ordinal);
        Assert.Empty(await ListAsync(token, "mine"));
    }

    [Fact]
    public async Task GroupPage_OutsiderOnPrivateGroup_Returns404NotFoundPage_LikeAMissingGroup()
    {
        var (_, ownerToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Hidden " + PlatformFactory.UniqueName());
        var (outsider, _) = await NewUserAsync();
        using var browser = await LogInAsync(outsider);

        var (hidden, hiddenHtml) = await browser.GetAsync($"/groups/{id}");
        var (missing, missingHtml) = await browser.GetAsync("/groups/999999999");

        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("There is nothing here", hiddenHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("Hidden ", hiddenHtml, StringComparison.Ordinal);
        Assert.Equal(Body(missingHtml), Body(hiddenHtml));
    }

    [Fact]
    public async Task GroupPage_OutsiderPostsDelete_ToPrivateGroup_AnsweredAsForAMissingGroup_NothingChanges()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Closed " + owner);
        var (outsider, _) = await NewUserAsync();
        using var browser = await LogInAsync(outsider);
        await browser.GetAsync("/groups");

        async Task<(HttpStatusCode, string)> DeleteAsync(long groupId)
        {
            var response = await browser.Http.PostAsync($"/groups/{groupId}", new FormUrlEncodedContent(
                [new("_handler", "membership"), new("__RequestVerificationToken", browser.AntiforgeryToken!), new("Membership", "delete")]));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var (hidden, hiddenBody) = await DeleteAsync(id);
        var (missing, missingBody) = await DeleteAsync(999999999);

        // No form of a group page is rendered for someone who may not see the group, so none can be posted.
        Assert.Equal(HttpStatusCode.BadRequest, hidden);
        Assert.Equal(missing, hidden);
        Assert.Equal(missingBody, hiddenBody);
        Assert.DoesNotContain("Closed", hiddenBody, StringComparison.Ordinal);
        Assert.Single(await ListAsync(ownerToken, "mine"));
    }

    [Fact]
    public async Task GroupPage_Member_SeesMembersButNoManagementForms_AndCannotPostThem()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var (member, memberToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Team " + owner);
        await InviteAsync(ownerToken, id, member);
        using (var api = platform.CreateApiClient(memberToken))
        {
            Assert.Equal(HttpStatusCode.OK, (await api.PostAsync($"/api/groups/{id}/accept", null)).StatusCode);
        }

        using var browser = await LogInAsync(member);
        using var ownerBrowser = await LogInAsync(owner);

        var (response, html) = await browser.GetAsync($"/groups/{id}");
        var (_, ownerHtml) = await ownerBrowser.GetAsync($"/groups/{id}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"data-testid=\"member-row-{owner}\"", html, StringComparison.Ordinal);
        foreach (var form in new[] { "edit-group", "invite" })
        {
            Assert.DoesNotContain($"name=\"_handler\" value=\"{form}\"", html, StringComparison.Ordinal);
            Assert.Contains($"name=\"_handler\" value=\"{form}\"", ownerHtml, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("data-testid=\"activity-table\"", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"activity-table\"", ownerHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("name=\"MemberCommand\"", html, StringComparison.Ordinal);
        Assert.Contains("name=\"MemberCommand\"", ownerHtml, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"leave\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"delete-group\"", html, StringComparison.Ordinal);

        // Posting the owner's forms anyway changes nothing: the invite form is not there to post, and
        // the service refuses a forged row action with its own message.
        var ownerId = UserId(await GetGroupAsync(ownerToken, id), owner);
        var (invite, _) = await browser.SubmitAsync($"/groups/{id}", "invite", [new("InviteInput.User", "admin"), new("InviteInput.Role", "Owner")]);
        var (remove, removeHtml) = await browser.SubmitAsync($"/groups/{id}", "member-action", [new("MemberCommand", $"remove:{ownerId}")]);
        Assert.Equal(HttpStatusCode.BadRequest, invite.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, remove.StatusCode);
        Assert.Contains("Only the group&#x27;s owners and admins can do this.", removeHtml, StringComparison.Ordinal);
        var group = await GetGroupAsync(ownerToken, id);
        Assert.Equal(2, group.GetProperty("members").GetArrayLength());
        Assert.Equal("Owner", Member(group, owner).GetProperty("role").GetString());
    }

    [Fact]
    public async Task GroupPage_OwnerInvitesUnknownUser_Returns400BesideTheUserField()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Inv " + owner);
        using var browser = await LogInAsync(owner);

        var (response, html) = await browser.SubmitAsync($"/groups/{id}", "invite", [new("InviteInput.User", "nobody-" + owner), new("InviteInput.Role", "Member")]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"<div class=\"validation-message\">There is no user &#x27;nobody-{owner}&#x27;", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GroupPage_AdminPromotesToOwner_Refused403WithMessage_RoleUnchanged()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var (admin, adminToken) = await NewUserAsync();
        var (member, memberToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Roles " + owner);
        await InviteAsync(ownerToken, id, admin, "Admin");
        await InviteAsync(ownerToken, id, member);
        foreach (var token in new[] { adminToken, memberToken })
        {
            using var api = platform.CreateApiClient(token);
            await api.PostAsync($"/api/groups/{id}/accept", null);
        }

        using var browser = await LogInAsync(admin);
        var (_, page) = await browser.GetAsync($"/groups/{id}");
        var memberId = UserId(await GetGroupAsync(ownerToken, id), member);

        // An admin is offered Make admin for a member, never Make owner; the service refuses a forged one.
        Assert.Contains($"value=\"role:admin:{memberId}\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("value=\"role:owner:", page, StringComparison.Ordinal);
        var (response, html) = await browser.SubmitAsync($"/groups/{id}", "member-action", [new("MemberCommand", $"role:owner:{memberId}")]);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Only owners can make or unmake owners.", html, StringComparison.Ordinal);
        Assert.Equal("Member", Member(await GetGroupAsync(ownerToken, id), member).GetProperty("role").GetString());
    }

    [Fact]
    public async Task GroupPage_WithdrawInvitationThatIsGone_Returns404WithTheMessageOnThePage()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var (invitee, inviteeToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Gone " + owner);
        await InviteAsync(ownerToken, id, invitee);
        var inviteeId = UserId(await GetGroupAsync(ownerToken, id), invitee);
        using var browser = await LogInAsync(owner);
        await browser.GetAsync($"/groups/{id}");
        using (var api = platform.CreateApiClient(inviteeToken))
        {
            // The invitee answers while the owner's page is open.
            await api.PostAsync($"/api/groups/{id}/decline", null);
        }

        var response = await browser.Http.PostAsync($"/groups/{id}", new FormUrlEncodedContent(
            [new("_handler", "withdraw"), new("__RequestVerificationToken", browser.AntiforgeryToken!), new("WithdrawId", inviteeId)]));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("data-testid=\"group-error\">There is no open invitation for this user.<", html, StringComparison.Ordinal);
        Assert.Contains($"data-testid=\"group-name\">Gone {owner}<", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GroupsPage_AcceptInvitation_SameResponseDropsTheNavBadge()
    {
        var (_, ownerToken) = await NewUserAsync();
        var (invitee, _) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Badge " + invitee);
        await InviteAsync(ownerToken, id, invitee, "Admin");
        using var browser = await LogInAsync(invitee);

        var (_, before) = await browser.GetAsync("/groups");
        var (response, html) = await browser.SubmitAsync("/groups", "invitation", [new("Invitation", $"accept:{id}")]);

        Assert.Contains("data-testid=\"nav-badge-group-invitations\"", before, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"You joined Badge {invitee} as an admin.", html, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"nav-badge-group-invitations\"", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"my-role\">admin<", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GroupPage_Invitee_SeesTheOfferOnThePage_AndAcceptsThere()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var (invitee, inviteeToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Offer " + owner, description: "Private work.");
        await InviteAsync(ownerToken, id, invitee, "Admin");
        using var browser = await LogInAsync(invitee);

        var (page, before) = await browser.GetAsync($"/groups/{id}");
        var (response, html) = await browser.SubmitAsync($"/groups/{id}", "respond", [new("Response", "accept")]);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("You are invited to join this group as an admin.", before, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("You joined the group as an admin.", html, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"respond\"", html, StringComparison.Ordinal);
        Assert.Contains("name=\"_handler\" value=\"invite\"", html, StringComparison.Ordinal);
        Assert.Single(await ListAsync(inviteeToken, "mine"));
    }

    [Fact]
    public async Task GroupPage_EditForm_BadName_Returns400BesideTheName_GoodName_Saves()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Edit " + owner);
        using var browser = await LogInAsync(owner);

        var (bad, badHtml) = await browser.SubmitAsync($"/groups/{id}", "edit-group",
            [new("EditInput.Name", "a/b"), new("EditInput.Description", ""), new("EditInput.Accessibility", "Private")]);
        var (good, goodHtml) = await browser.SubmitAsync($"/groups/{id}", "edit-group",
            [new("EditInput.Name", "Renamed " + owner), new("EditInput.Description", "Now described."), new("EditInput.Accessibility", "Public")]);

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("<div class=\"validation-message\">A group name cannot hold &#x27;/&#x27;", badHtml, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Contains($"data-testid=\"group-name\">Renamed {owner}<", goodHtml, StringComparison.Ordinal);
        Assert.Contains($"renamed it from &#x27;Edit {owner}&#x27; to &#x27;Renamed {owner}&#x27;; changed the description; made it public", goodHtml, StringComparison.Ordinal);
        var group = await GetGroupAsync(ownerToken, id);
        Assert.Equal("Public", group.GetProperty("accessibility").GetString());
    }

    [Fact]
    public async Task GroupPage_LastOwner_IsToldToHandOver_AndLeavingIsRefused()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Solo " + owner);
        using var browser = await LogInAsync(owner);

        var (_, page) = await browser.GetAsync($"/groups/{id}");
        var (response, html) = await browser.SubmitAsync($"/groups/{id}", "membership", [new("Membership", "leave")]);

        Assert.Contains("data-testid=\"last-owner\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"leave\"", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("You are the group&#x27;s last owner", html, StringComparison.Ordinal);
        Assert.Single(await ListAsync(ownerToken, "mine"));
    }

    [Fact]
    public async Task GroupsPage_InviteeDeclinesPrivateInvitation_SeesItGone_GroupStaysHidden()
    {
        var (_, ownerToken) = await NewUserAsync();
        var (invitee, inviteeToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Decline " + invitee);
        await InviteAsync(ownerToken, id, invitee);
        using var browser = await LogInAsync(invitee);

        var (response, html) = await browser.SubmitAsync("/groups", "invitation", [new("Invitation", $"decline:{id}")]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("You declined the invitation to Decline", html, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"invitations\"", html, StringComparison.Ordinal);
        Assert.Empty(await ListAsync(inviteeToken, "invitations"));
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync($"/groups/{id}")).Response.StatusCode);
    }

    [Fact]
    public async Task GroupsPage_PublicGroup_JoinButton_AddsTheCaller()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Open " + owner, "Public");
        var (joiner, joinerToken) = await NewUserAsync();
        using var browser = await LogInAsync(joiner);

        var (_, before) = await browser.GetAsync("/groups");
        var (response, html) = await browser.SubmitAsync("/groups", "join", [new("JoinId", id.ToString(System.Globalization.CultureInfo.InvariantCulture))]);

        Assert.Contains($"name=\"JoinId\" value=\"{id}\"", before, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"You joined Open {owner}.", html, StringComparison.Ordinal);
        Assert.Contains($"href=\"groups/{id}\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain($"name=\"JoinId\" value=\"{id}\"", html, StringComparison.Ordinal);
        Assert.Single(await ListAsync(joinerToken, "mine"));
    }

    [Fact]
    public async Task ActivityApi_ReturnsTheCallersCounts_NavBadgeShowsInvitations()
    {
        var (name, token) = await NewUserAsync();
        var (_, otherToken) = await NewUserAsync();
        await CreateGroupAsync(token, "Own " + name);
        foreach (var i in new[] { 1, 2 })
        {
            await InviteAsync(otherToken, await CreateGroupAsync(otherToken, $"Inviting {i} {name}"), name);
        }

        using var browser = await LogInAsync(name);
        using var api = platform.CreateApiClient(token);

        var byCookie = await browser.Http.GetFromJsonAsync<Dictionary<string, int>>("/api/activity");
        var byToken = await api.GetFromJsonAsync<Dictionary<string, int>>("/api/activity");
        var anonymous = await platform.CreateApiClient().GetAsync("/api/activity");
        var (_, home) = await browser.GetAsync("/");
        var (_, otherHome) = await (await LogInAsync(await NewUserNameAsync())).GetAsync("/");

        Assert.Equal(new Dictionary<string, int>
        {
            ["group-invitations"] = 2, ["groups-owned"] = 1, ["user-volumes-owned"] = 3, ["user-volumes-shared"] = 0, ["jobs-running"] = 0, ["jobs-completed-24h"] = 0,
        }, byCookie);
        Assert.Equal(byCookie, byToken);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("data-activity-live", home, StringComparison.Ordinal);
        Assert.Contains("data-activity-key=\"group-invitations\" data-testid=\"activity-value\">2<", home, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"nav-badge-group-invitations\"><span class=\"visually-hidden\">: </span><span data-activity-count>2</span><span class=\"visually-hidden\"> pending invitations</span>", home, StringComparison.Ordinal);
        Assert.DoesNotContain("nav-badge-group-invitations", otherHome, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GroupPage_DescriptionWithScript_IsShownEscaped()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var id = await CreateGroupAsync(ownerToken, "Xss " + owner, description: "<script>alert(1)</script><img src=x onerror=alert(2)>");
        using var browser = await LogInAsync(owner);

        var (_, html) = await browser.GetAsync($"/groups/{id}");
        var (_, list) = await browser.GetAsync("/groups");

        foreach (var page in new[] { html, list })
        {
            Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;", page, StringComparison.Ordinal);
            Assert.DoesNotContain("<script>alert", page, StringComparison.Ordinal);
            Assert.DoesNotContain("<img src=x", page, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task GroupPages_WithoutAntiforgeryToken_Return400AndChangeNothing()
    {
        var (name, token) = await NewUserAsync();
        using var browser = await LogInAsync(name);

        var (response, _) = await browser.SubmitAsync("/groups", "create-group", [new("Input.Name", "Forged " + name)], withAntiforgery: false);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(await ListAsync(token, "mine"));
    }

    private async Task<(string Name, string Token)> NewUserAsync()
    {
        var name = PlatformFactory.UniqueName();
        return (name, await platform.CreateUserAsync(name, Password));
    }

    private async Task<string> NewUserNameAsync() => (await NewUserAsync()).Name;

    private async Task<FormClient> LogInAsync(string name)
    {
        var browser = new FormClient(platform);
        var (response, _) = await browser.LoginAsync(name, Password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return browser;
    }

    private async Task<long> CreateGroupAsync(string token, string name, string accessibility = "Private", string description = "")
    {
        using var api = platform.CreateApiClient(token);
        var response = await api.PostAsJsonAsync("/api/groups", new { name, description, accessibility });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return Id(await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private async Task InviteAsync(string token, long id, string user, string role = "Member")
    {
        using var api = platform.CreateApiClient(token);
        var response = await api.PostAsJsonAsync($"/api/groups/{id}/invitations", new { user, role });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<JsonElement> GetGroupAsync(string token, long id)
    {
        using var api = platform.CreateApiClient(token);
        return await api.GetFromJsonAsync<JsonElement>($"/api/groups/{id}");
    }

    private async Task<List<JsonElement>> ListAsync(string token, string scope)
    {
        using var api = platform.CreateApiClient(token);
        return (await api.GetFromJsonAsync<List<JsonElement>>($"/api/groups?scope={scope}"))!;
    }

    private static long Id(JsonElement group) => group.GetProperty("id").GetInt64();

    private static JsonElement Member(JsonElement group, string username) =>
        group.GetProperty("members").EnumerateArray().Single(m => m.GetProperty("username").GetString() == username);

    private static string UserId(JsonElement group, string username) => Member(group, username).GetProperty("userId").GetString()!;

    /// <summary>The page's main content, without the per-request antiforgery token.</summary>
    private static string Body(string html) =>
        Regex.Replace(Regex.Match(html, "<main[\\s\\S]*</main>").Value, "value=\"[^\"]*\"", "");
}
