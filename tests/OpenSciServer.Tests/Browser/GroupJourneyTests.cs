using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using OpenSciServer.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace OpenSciServer.Tests.Browser;

/// <summary>
/// Two scientists in two browsers: Alice creates a group and invites Bob; Bob sees the invitation
/// arrive on Home without reloading, accepts it, is promoted to admin by Alice, and leaves.
/// </summary>
public sealed partial class GroupJourneyTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string Password = "browser-test-password";

    [Fact]
    public async Task CreateInviteAcceptPromoteLeave_BothUsersSeeEachStep()
    {
        var alice = PlatformFactory.UniqueName("alice");
        var bob = PlatformFactory.UniqueName("bob");
        await fixture.CreateUserAsync(alice, Password);
        await fixture.CreateUserAsync(bob, Password);
        var groupName = "Quasar survey " + alice[^4..];
        await using var aliceContext = await NewContextAsync();
        await using var bobContext = await NewContextAsync();
        var a = await LogInAsync(aliceContext, alice);
        var b = await bobContext.NewPageAsync();
        a.Dialog += (_, dialog) => dialog.AcceptAsync();
        b.Dialog += (_, dialog) => dialog.AcceptAsync();

        // Bob waits on Home; its clock is under the test's control, so "every 20 s" takes no real time.
        await b.Clock.InstallAsync();
        await LogInAsync(b, bob);
        await Expect(ActivityValue(b, "group-invitations")).ToHaveTextAsync("0");
        await Expect(b.Locator("[data-testid=nav-badge-group-invitations]")).ToHaveCountAsync(0);

        // Alice creates a private group and lands on its page as its owner.
        await a.GotoAsync("/groups");
        await Expect(a.Locator("[data-testid=no-groups]")).ToBeVisibleAsync();
        Assert.Contains("letters, digits, spaces", await a.InnerTextAsync("#group-name-help"), StringComparison.Ordinal);
        Assert.True(await a.IsCheckedAsync("#group-private"));
        await a.FillAsync("#group-name", groupName);
        await a.FillAsync("#group-description", "Variability of quasars in the eROSITA fields.\nWeekly call on Thursdays.");
        await Screenshot(a, "groups-01-create");
        await a.ClickAsync("[data-testid=create-group]");
        await a.WaitForURLAsync(GroupUrl());
        var groupUrl = a.Url;
        await Expect(a.Locator("[data-testid=group-name]")).ToHaveTextAsync(groupName);
        await Expect(a.Locator("header [data-testid=my-role]")).ToHaveTextAsync("owner");
        await Expect(a.Locator("header [data-testid=accessibility]")).ToHaveTextAsync("private");
        await Expect(a.Locator("[data-testid=no-shared]")).ToBeVisibleAsync();

        // Alice invites Bob by user name; the invitation waits in the pending list.
        await a.FillAsync("#invite-user", bob);
        await a.SelectOptionAsync("#invite-role", "Member");
        await a.ClickAsync("[data-testid=invite]");
        await Expect(a.Locator("[data-testid=group-message]")).ToContainTextAsync($"Invited {bob} as a member");
        await Expect(a.Locator($"[data-testid=pending-row-{bob}]")).ToBeVisibleAsync();
        await Screenshot(a, "groups-02-invited");

        // Without a reload, Bob's Home and the Groups badge show the invitation after the next refresh.
        await b.Clock.RunForAsync(21_000);
        await Expect(ActivityValue(b, "group-invitations")).ToHaveTextAsync("1");
        await Expect(b.Locator("[data-testid=nav-badge-group-invitations] [data-activity-count]")).ToHaveTextAsync("1");
        await Screenshot(b, "groups-03-home-invitation");

        // Bob opens Groups, sees the offer and accepts it.
        await b.ClickAsync("nav a[href='groups']");
        var invitation = b.Locator("[data-testid=invitation-row]");
        await Expect(invitation).ToHaveCountAsync(1);
        await Expect(invitation.Locator("[data-testid=invitation-group]")).ToHaveTextAsync(groupName);
        await Expect(invitation.Locator("[data-testid=invitation-role]")).ToHaveTextAsync("member");
        await Screenshot(b, "groups-04-invitations");
        await invitation.GetByRole(AriaRole.Button, new() { Name = $"Accept the invitation to {groupName}" }).ClickAsync();
        await Expect(b.Locator("[data-testid=groups-message]")).ToContainTextAsync($"You joined {groupName} as a member.");
        await Expect(b.Locator("[data-testid=invitations]")).ToHaveCountAsync(0);
        await Expect(b.Locator("[data-testid=nav-badge-group-invitations]")).ToHaveCountAsync(0);
        var row = b.Locator("[data-testid=my-group-row]", new() { HasText = groupName });
        await Expect(row.Locator("[data-testid=my-role]")).ToHaveTextAsync("member");
        await Screenshot(b, "groups-05-joined");

        // Alice sees Bob as a member and makes him an admin. (She opens the page afresh: a reload
        // would post her last form again.)
        await a.GotoAsync(groupUrl);
        var bobRow = a.Locator($"[data-testid=member-row-{bob}]");
        await Expect(bobRow.Locator("[data-testid=member-role]")).ToHaveTextAsync("member");
        await Expect(a.Locator("[data-testid=no-pending]")).ToBeVisibleAsync();
        await bobRow.GetByRole(AriaRole.Button, new() { Name = $"Make {bob} an admin" }).ClickAsync();
        await Expect(a.Locator("[data-testid=group-message]")).ToHaveTextAsync($"{bob} is now an admin.");
        await Expect(bobRow.Locator("[data-testid=member-role]")).ToHaveTextAsync("admin");
        await Screenshot(a, "groups-06-promoted");

        // Bob, now an admin, sees the management forms and the log; then he leaves.
        await b.GotoAsync(groupUrl);
        await Expect(b.Locator("header [data-testid=my-role]")).ToHaveTextAsync("admin");
        await Expect(b.Locator("#invite-user")).ToBeVisibleAsync();
        await Expect(b.Locator("[data-testid=activity-table]")).ToContainTextAsync($"changed the role of {bob} from member to admin");
        // An admin may not touch the owner: no buttons on Alice's row.
        await Expect(b.Locator($"[data-testid=member-row-{alice}] button")).ToHaveCountAsync(0);
        await Screenshot(b, "groups-07-admin-view");
        await b.ClickAsync("[data-testid=leave]");
        await b.WaitForURLAsync("**/groups?done=left");
        await Expect(b.Locator("[data-testid=groups-message]")).ToHaveTextAsync("You left the group.");
        await Expect(b.Locator("[data-testid=no-groups]")).ToBeVisibleAsync();
        await Screenshot(b, "groups-08-left");
        // The group is private: to Bob it is now as if it did not exist.
        var gone = await b.GotoAsync(groupUrl);
        Assert.Equal(404, gone!.Status);
        await Expect(b.Locator("h1")).ToHaveTextAsync("There is nothing here");

        // Alice sees Bob gone and the whole story in the activity log, newest first.
        await a.GotoAsync(groupUrl);
        await Expect(a.Locator($"[data-testid=member-row-{bob}]")).ToHaveCountAsync(0);
        var log = a.Locator("[data-testid=activity-row]");
        await Expect(log).ToHaveCountAsync(5);
        await Expect(log.Nth(0)).ToContainTextAsync($"{bob} left the group");
        await Expect(log.Nth(1)).ToContainTextAsync($"{alice} changed the role of {bob} from member to admin");
        await Expect(log.Nth(2)).ToContainTextAsync($"{bob} accepted the invitation and joined as member");
        await Expect(log.Nth(3)).ToContainTextAsync($"{alice} invited {bob} as member");
        await Expect(log.Nth(4)).ToContainTextAsync($"{alice} created the group (private)");
        await Screenshot(a, "groups-09-activity");
    }

    [Fact]
    public async Task GroupPages_OnAPhone_StayReadable()
    {
        var carol = PlatformFactory.UniqueName("carol");
        var token = await fixture.CreateUserAsync(carol, Password);
        using (var api = fixture.CreateApiClient(token))
        {
            var created = await api.PostAsJsonAsync("/api/groups",
                new { name = "Phone team " + carol[^4..], description = "Checking the layout on a small screen.", accessibility = "Public" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.BaseUrl, ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true,
        });
        var page = await LogInAsync(context, carol);

        await page.GotoAsync("/groups");
        await Expect(page.Locator("[data-testid=my-group-row]")).ToHaveCountAsync(1);
        await Screenshot(page, "groups-10-phone-list");
        await page.ClickAsync("[data-testid=my-group-row] a");
        await page.WaitForURLAsync(GroupUrl());
        await Expect(page.Locator("header [data-testid=accessibility]")).ToHaveTextAsync("public");
        // Nothing spills sideways on a narrow screen.
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"));
        await Screenshot(page, "groups-11-phone-detail");
    }

    private Task<IBrowserContext> NewContextAsync() =>
        fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseUrl, ViewportSize = new() { Width = 1280, Height = 900 } });

    private static async Task<IPage> LogInAsync(IBrowserContext context, string user)
    {
        var page = await context.NewPageAsync();
        await LogInAsync(page, user);
        return page;
    }

    private static async Task LogInAsync(IPage page, string user)
    {
        await page.GotoAsync("/login");
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", Password);
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("[data-testid=current-user]")).ToHaveTextAsync(user);
    }

    private static ILocator ActivityValue(IPage page, string key) => page.Locator($"[data-activity-key='{key}']");

    private static Regex GroupUrl() => GroupPagePattern();

    [GeneratedRegex(@"/groups/\d+$")]
    private static partial Regex GroupPagePattern();

    private static async Task Screenshot(IPage page, string name)
    {
        // The icon font loads after the page; wait for it so the pictures show what people see.
        await page.EvaluateAsync("() => document.fonts.ready.then(() => true)");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"), FullPage = true });
    }
}
