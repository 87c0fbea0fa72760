using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Web;

/// <summary>The admin's data volume and quota page, driven through its forms.</summary>
public sealed class AdminDataVolumesPageTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task PublishShareWithPublic_UsersRead_ThenRemove()
    {
        var name = "hetdex" + Guid.NewGuid().ToString("N")[..6];
        var folder = Directory.CreateDirectory(Path.Combine(platform.DataDirectory, "volumes", "Data", name)).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "sources.csv"), "ra,dec\n1,2\n");
        using var admin = new FormClient(platform);
        await admin.LoginAsync("admin", PlatformFactory.AdminPassword);

        var (published, html) = await admin.SubmitAsync("/admin/data-volumes", "register-data-volume",
            [new("Register.Name", name), new("Register.Path", name), new("Register.DisplayName", "HETDEX sources"), new("Register.Description", "<b>bold</b> claims")]);
        Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        Assert.Contains($"data-testid=\"data-volume-{name}\"", html, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;bold&lt;/b&gt; claims", html, StringComparison.Ordinal);

        var (_, shared) = await admin.SubmitAsync("/admin/data-volumes", "share-data-volume",
            [new("Share.Volume", name), new("Share.Type", "group"), new("Share.Name", "public"), new("Share.Read", "true")]);
        Assert.Contains("group <strong>public</strong>: read", shared, StringComparison.Ordinal);
        var user = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName()));
        Assert.Equal("ra,dec\n1,2\n", await user.GetStringAsync($"/api/files/content/{name}/sources.csv"));

        await admin.SubmitAsync("/admin/data-volumes", "data-volume-action", [new("Command", $"remove:{name}")]);
        Assert.Equal(HttpStatusCode.NotFound, (await user.GetAsync($"/api/files/content/{name}/sources.csv")).StatusCode);
        Assert.True(File.Exists(Path.Combine(folder, "sources.csv")), "removing a data volume leaves its folder");
    }

    [Fact]
    public async Task Publish_FolderOutsideTheDataRoot_Returns400BesideTheField()
    {
        using var admin = new FormClient(platform);
        await admin.LoginAsync("admin", PlatformFactory.AdminPassword);

        var (response, html) = await admin.SubmitAsync("/admin/data-volumes", "register-data-volume",
            [new("Register.Name", "etc"), new("Register.Path", "/etc")]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("<div class=\"validation-message\">The folder must exist inside", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetQuota_LimitsTheUsersUploads()
    {
        var name = PlatformFactory.UniqueName("q");
        var user = platform.CreateApiClient(await platform.CreateUserAsync(name));
        using var admin = new FormClient(platform);
        await admin.LoginAsync("admin", PlatformFactory.AdminPassword);

        var (response, _) = await admin.SubmitAsync("/admin/data-volumes", "quota",
            [new("Quota.User", name), new("Quota.Root", "Storage"), new("Quota.GiB", "0.0001")]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var usage = await user.GetFromJsonAsync<JsonElement[]>("/api/files/usage");
        Assert.Equal(107374, usage!.Single(u => u.GetProperty("rootVolume").GetString() == "Storage").GetProperty("bytesQuota").GetInt64());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge,
            (await user.PutAsync($"/api/files/content/Storage/{name}/persistent/x.bin", new ByteArrayContent(new byte[200_000]))).StatusCode);
    }

    [Fact]
    public async Task Page_IsForSiteAdminsOnly()
    {
        var name = PlatformFactory.UniqueName();
        await platform.CreateUserAsync(name);
        using var user = new FormClient(platform);
        await user.LoginAsync(name, "a-good-long-password");

        var (response, _) = await user.GetAsync("/admin/data-volumes");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains("/denied", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }
}
