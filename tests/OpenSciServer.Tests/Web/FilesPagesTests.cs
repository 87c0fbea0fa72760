using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Web;

/// <summary>The Files pages, driven through their server-rendered forms as a browser without JavaScript would.</summary>
public sealed partial class FilesPagesTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    private const string Password = "a-good-long-password";
    private const string HtmlName = "<img src=x onerror=alert(1)>.csv";

    [Fact]
    public async Task FolderPage_ListsFoldersFirstThenFiles_WithSizesQuotaAndPurgePolicy()
    {
        var (name, token) = await NewUserAsync();
        using var api = platform.CreateApiClient(token);
        await PutAsync(api, $"Storage/{name}/persistent/b-notes.txt", new byte[1536]);
        await PutAsync(api, $"Storage/{name}/persistent/a-data.csv", "x,y\n1,2\n"u8.ToArray());
        Assert.Equal(HttpStatusCode.OK, (await api.PutAsync($"/api/files/folder/Storage/{name}/persistent/z-runs", null)).StatusCode);
        using var browser = await LogInAsync(name);

        var (response, html) = await browser.GetAsync($"/files/Storage/{name}/persistent");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["z-runs", "a-data.csv", "b-notes.txt"], EntryNames(html));
        Assert.Contains($"href=\"files/Storage/{name}/persistent/a-data.csv\" data-testid=\"entry-link\">a-data.csv<", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"entry-size\">1.5 KiB<", html, StringComparison.Ordinal);
        Assert.Contains($"href=\"api/files/content/Storage/{name}/persistent/b-notes.txt\" download", html, StringComparison.Ordinal);
        Assert.Contains($"href=\"api/files/zip/Storage/{name}/persistent/z-runs\"", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"access-text\">You can read, write, delete and share.<", html, StringComparison.Ordinal);
        // The tree: my volumes per root with the quota and the purge policy, and the other groups.
        Assert.Contains($"data-testid=\"volume-Storage/{name}/persistent\"", html, StringComparison.Ordinal);
        Assert.Contains($"data-testid=\"volume-Temporary/{name}/scratch\"", html, StringComparison.Ordinal);
        Assert.Matches(@"data-testid=""quota-bytes"">1.5 KiB of 10 GiB<", html);
        Assert.Contains("data-testid=\"quota-files\">2 of 200,000 files<", html, StringComparison.Ordinal);
        Assert.Contains("Files untouched for 30 days are deleted automatically.", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"no-shared\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FilesHome_ListsAllVolumes_AndTheHomeCardsLinkHere()
    {
        var (name, _) = await NewUserAsync();
        using var browser = await LogInAsync(name);

        var (response, html) = await browser.GetAsync("/files");
        var (_, home) = await browser.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, Regex.Count(html, "data-testid=\"volume-row\""));
        Assert.Contains($"<code class=\"small text-break\">Temporary/{name}/jobs</code>", html, StringComparison.Ordinal);
        Assert.Contains("<a class=\"card stat-card h-100 border-0 shadow-sm text-decoration-none\" href=\"files\" data-testid=\"activity-user-volumes-owned\">", home, StringComparison.Ordinal);
        Assert.Contains("<a class=\"card app-card h-100 border-0 shadow-sm text-decoration-none text-body\" href=\"files\">", home, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("..", "Names made only of dots")]
    [InlineData("a/b", "holds a character that is not allowed")]
    [InlineData("tab\there", "Names cannot hold control characters")]
    [InlineData("", "A name cannot be empty.")]
    public async Task NewFolderForm_BadName_Returns400BesideTheField_AndCreatesNothing(string folder, string expected)
    {
        var (name, token) = await NewUserAsync();
        using var browser = await LogInAsync(name);

        var (response, html) = await browser.SubmitAsync($"/files/Storage/{name}/persistent?act=new-folder", "new-folder", [new("NewFolder.Name", folder)]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Matches("<div class=\"validation-message\">[^<]*" + Regex.Escape(WebUtility.HtmlEncode(expected).Replace("&#39;", "&#x27;", StringComparison.Ordinal)), html);
        Assert.Contains("data-testid=\"dialog-new-folder\"", html, StringComparison.Ordinal);
        Assert.Empty(await ListAsync(token, $"Storage/{name}/persistent"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(VolumeFolder(name)));
    }

    [Fact]
    public async Task NewFolderForm_GoodName_RedirectsToTheFolderWithTheNewRowHighlighted()
    {
        var (name, token) = await NewUserAsync();
        using var browser = await LogInAsync(name);

        var (response, _) = await browser.SubmitAsync($"/files/Storage/{name}/persistent?act=new-folder", "new-folder", [new("NewFolder.Name", "Run 1 (final)")]);
        var again = await browser.SubmitAsync($"/files/Storage/{name}/persistent?act=new-folder", "new-folder", [new("NewFolder.Name", "Run 1 (final)")]);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal($"/files/Storage/{name}/persistent?done=folder&hl=Run%201%20%28final%29", Local(response));
        var (_, html) = await browser.GetAsync(Local(response));
        Assert.Contains("data-testid=\"files-message\"><i class=\"bi bi-check-circle me-2\" aria-hidden=\"true\"></i>Folder created.<", html, StringComparison.Ordinal);
        Assert.Contains("data-name=\"Run 1 (final)\" class=\"entry-highlight\"", html, StringComparison.Ordinal);
        var entry = Assert.Single(await ListAsync(token, $"Storage/{name}/persistent"));
        Assert.True(entry.GetProperty("isFolder").GetBoolean());
        Assert.Equal(HttpStatusCode.Conflict, again.Response.StatusCode);
        Assert.Contains("exists already", again.Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteForm_Folder_DeletesItWithEverythingInside_AfterAConfirmationInTheUi()
    {
        var (name, token) = await NewUserAsync();
        using var api = platform.CreateApiClient(token);
        await PutAsync(api, $"Storage/{name}/persistent/run1/deep/a.txt", "a"u8.ToArray());
        await PutAsync(api, $"Storage/{name}/persistent/keep.txt", "k"u8.ToArray());
        using var browser = await LogInAsync(name);

        var (_, page) = await browser.GetAsync($"/files/Storage/{name}/persistent");
        var (response, _) = await browser.SubmitAsync($"/files/Storage/{name}/persistent", "entry-action", [new("DeleteName", "run1")]);

        Assert.Contains("name=\"DeleteName\" value=\"run1\"", page, StringComparison.Ordinal);
        Assert.Contains("data-confirm=\"Delete the folder &#x27;run1&#x27; and everything in it? This cannot be undone.\"", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal($"/files/Storage/{name}/persistent?done=deleted", Local(response));
        Assert.Equal(["keep.txt"], (await ListAsync(token, $"Storage/{name}/persistent")).Select(e => e.GetProperty("name").GetString()));
        Assert.False(Directory.Exists(Path.Combine(VolumeFolder(name), "run1")));
    }

    [Theory]
    [InlineData("../../Temporary")]
    [InlineData("missing.txt")]
    public async Task DeleteForm_PathOrMissingName_IsRefused_NothingDeleted(string target)
    {
        var (name, token) = await NewUserAsync();
        using var api = platform.CreateApiClient(token);
        await PutAsync(api, $"Storage/{name}/persistent/keep.txt", "k"u8.ToArray());
        using var browser = await LogInAsync(name);

        var (response, html) = await browser.SubmitAsync($"/files/Storage/{name}/persistent", "entry-action", [new("DeleteName", target)]);

        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, response.StatusCode.ToString());
        Assert.Contains("data-testid=\"files-error\"", html, StringComparison.Ordinal);
        Assert.Single(await ListAsync(token, $"Storage/{name}/persistent"));
        Assert.True(Directory.Exists(Path.Combine(platform.DataDirectory, "volumes", "Temporary", name)));
    }

    [Fact]
    public async Task RenameAndMoveForms_RenameInPlace_MoveIntoAFolder_CopyKeepsTheOriginal()
    {
        var (name, token) = await NewUserAsync();
        using var api = platform.CreateApiClient(token);
        await PutAsync(api, $"Storage/{name}/persistent/draft.txt", "hello"u8.ToArray());
        await api.PutAsync($"/api/files/folder/Storage/{name}/persistent/archive", null);
        using var browser = await LogInAsync(name);
        var folder = $"/files/Storage/{name}/persistent";

        var renamed = await browser.SubmitAsync($"{folder}?act=rename&entry=draft.txt", "rename", [new("RenameInput.Name", "final.txt")]);
        var taken = await browser.SubmitAsync($"{folder}?act=rename&entry=final.txt", "rename", [new("RenameInput.Name", "archive")]);
        var copied = await browser.SubmitAsync($"{folder}?act=move&entry=final.txt", "transfer",
            [new("TransferInput.Target", $"Temporary/{name}/scratch"), new("TransferInput.Command", "copy")]);
        var moved = await browser.SubmitAsync($"{folder}?act=move&entry=final.txt", "transfer",
            [new("TransferInput.Target", $"Storage/{name}/persistent/archive"), new("TransferInput.Command", "move")]);

        Assert.Equal(HttpStatusCode.Redirect, renamed.Response.StatusCode);
        Assert.Equal($"{folder}?done=renamed&hl=final.txt", Local(renamed.Response));
        Assert.Equal(HttpStatusCode.Conflict, taken.Response.StatusCode);
        Assert.Contains("<div class=\"validation-message\">", taken.Html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, copied.Response.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, moved.Response.StatusCode);
        Assert.Equal("hello", await api.GetStringAsync($"/api/files/content/Temporary/{name}/scratch/final.txt"));
        Assert.Equal("hello", await api.GetStringAsync($"/api/files/content/Storage/{name}/persistent/archive/final.txt"));
        Assert.Equal(["archive"], (await ListAsync(token, $"Storage/{name}/persistent")).Select(e => e.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task OutsiderOpeningAnotherUsersVolumePath_Gets404_LikeAMissingVolume()
    {
        var (owner, ownerToken) = await NewUserAsync();
        using (var api = platform.CreateApiClient(ownerToken))
        {
            await PutAsync(api, $"Storage/{owner}/persistent/secret-plan.txt", "secret"u8.ToArray());
        }

        var (outsider, _) = await NewUserAsync();
        using var browser = await LogInAsync(outsider);

        var (hidden, hiddenHtml) = await browser.GetAsync($"/files/Storage/{owner}/persistent");
        var (hiddenFile, _) = await browser.GetAsync($"/files/Storage/{owner}/persistent/secret-plan.txt");
        var (missing, missingHtml) = await browser.GetAsync($"/files/Storage/{owner}/no-such-volume");

        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, hiddenFile.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("There is nothing here", hiddenHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", hiddenHtml, StringComparison.Ordinal);
        Assert.Equal(Body(missingHtml), Body(hiddenHtml));
    }

    [Fact]
    public async Task Preview_FitsFile_ShowsItsHeaderCards()
    {
        var (name, token) = await NewUserAsync();
        using (var api = platform.CreateApiClient(token))
        {
            await PutAsync(api, $"Storage/{name}/persistent/m31.fits", Fits(
                "SIMPLE  =                    T / conforms to FITS standard",
                "BITPIX  =                    8",
                "NAXIS   =                    0",
                "OBJECT  = 'M31 <Andromeda>'   / target of the observation",
                "COMMENT Taken with the 2.5 m telescope."));
        }

        using var browser = await LogInAsync(name);

        var (response, html) = await browser.GetAsync($"/files/Storage/{name}/persistent/m31.fits");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("data-testid=\"fits-header\"", html, StringComparison.Ordinal);
        Assert.Equal(5, Regex.Count(html, "data-testid=\"fits-card\""));
        Assert.Contains("<th scope=\"row\" class=\"fw-semibold text-nowrap\">OBJECT</th>\n                                    <td class=\"text-break\">M31 &lt;Andromeda&gt;</td>", html.Replace("\r", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("target of the observation", html, StringComparison.Ordinal);
        Assert.Contains("Taken with the 2.5 m telescope.", html, StringComparison.Ordinal);
        Assert.Contains("5 cards in the primary header", html, StringComparison.Ordinal);
        Assert.Contains($"href=\"api/files/content/Storage/{name}/persistent/m31.fits\" download data-testid=\"download-file\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_TextCsvAndImage_ShowTextATableAndAnInlineImage()
    {
        var (name, token) = await NewUserAsync();
        using (var api = platform.CreateApiClient(token))
        {
            await PutAsync(api, $"Storage/{name}/persistent/readme.md", "# Survey\n<script>alert(1)</script>\n"u8.ToArray());
            await PutAsync(api, $"Storage/{name}/persistent/stars.csv", "ra,dec,name\n10.68,41.27,\"M31, Andromeda\"\n83.82,-5.39,Orion\n"u8.ToArray());
            await PutAsync(api, $"Storage/{name}/persistent/sky.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
            await PutAsync(api, $"Storage/{name}/persistent/blob.bin", [1, 0, 2, 0, 3]);
        }

        using var browser = await LogInAsync(name);

        var (_, text) = await browser.GetAsync($"/files/Storage/{name}/persistent/readme.md");
        var (_, csv) = await browser.GetAsync($"/files/Storage/{name}/persistent/stars.csv");
        var (_, image) = await browser.GetAsync($"/files/Storage/{name}/persistent/sky.png");
        var (_, binary) = await browser.GetAsync($"/files/Storage/{name}/persistent/blob.bin");

        Assert.Contains("data-testid=\"preview-text\"># Survey&#xA;&lt;script&gt;alert(1)&lt;/script&gt;&#xA;</pre>", text, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert", text, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"csv-table\"", csv, StringComparison.Ordinal);
        Assert.Contains(">M31, Andromeda</td>", csv, StringComparison.Ordinal);
        Assert.Contains("2 rows under the header", csv, StringComparison.Ordinal);
        Assert.Contains($"<img src=\"api/files/content/Storage/{name}/persistent/sky.png?inline=true\" alt=\"sky.png\"", image, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"no-preview\"", binary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HtmlFileName_IsShownEscapedInTheListingAndPreview_AndItsLinksAreEncoded()
    {
        var (name, token) = await NewUserAsync();
        using (var api = platform.CreateApiClient(token))
        {
            await PutAsync(api, $"Storage/{name}/persistent/{Uri.EscapeDataString(HtmlName)}", "a,b\n<b>1</b>,2\n"u8.ToArray());
            await PutAsync(api, $"Storage/{name}/persistent/{Uri.EscapeDataString("50% #1?.txt")}", "odd"u8.ToArray());
        }

        using var browser = await LogInAsync(name);

        var (_, listing) = await browser.GetAsync($"/files/Storage/{name}/persistent");
        var (preview, previewHtml) = await browser.GetAsync($"/files/Storage/{name}/persistent/{Uri.EscapeDataString(HtmlName)}");
        var (odd, oddHtml) = await browser.GetAsync($"/files/Storage/{name}/persistent/{Uri.EscapeDataString("50% #1?.txt")}");

        foreach (var html in new[] { listing, previewHtml })
        {
            Assert.DoesNotContain("<img src=x", html, StringComparison.Ordinal);
            Assert.Contains("&lt;img src=x onerror=alert(1)&gt;.csv", html, StringComparison.Ordinal);
        }

        Assert.Contains($"href=\"files/Storage/{name}/persistent/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.csv\"", listing, StringComparison.Ordinal);
        Assert.Contains("data-confirm=\"Delete &#x27;&lt;img src=x onerror=alert(1)&gt;.csv&#x27;? This cannot be undone.\"", listing, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, preview.StatusCode);
        Assert.Contains("&lt;b&gt;1&lt;/b&gt;", previewHtml, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, odd.StatusCode);
        Assert.Contains("data-testid=\"preview-text\">odd<", oddHtml, StringComparison.Ordinal);
        Assert.Contains("href=\"files/Storage/" + name + "/persistent/50%25%20%231%3F.txt\"", listing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadOnlyShare_ReaderSeesDownloadButNoChangeControls_AndForgedFormsAre403()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var (reader, readerToken) = await NewUserAsync();
        using var api = platform.CreateApiClient(ownerToken);
        await PutAsync(api, $"Storage/{owner}/persistent/shared.txt", "shared"u8.ToArray());
        await ShareAsync(api, $"Storage/{owner}/persistent", "user", reader, "read");
        using var browser = await LogInAsync(reader);
        var folder = $"/files/Storage/{owner}/persistent";

        var (_, html) = await browser.GetAsync(folder);
        var (delete, deleteHtml) = await browser.SubmitAsync(folder, "entry-action", [new("DeleteName", "shared.txt")]);
        var (newFolder, _) = await browser.SubmitAsync($"{folder}?act=new-folder", "new-folder", [new("NewFolder.Name", "mine")]);

        Assert.Contains($"data-testid=\"volume-Storage/{owner}/persistent\"", html, StringComparison.Ordinal);
        Assert.Contains($"data-testid=\"shared-owner\">{owner} · Storage<", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"access-text\">You can read this volume only.<", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"download\"", html, StringComparison.Ordinal);
        foreach (var control in new[] { "delete", "rename", "share", "new-folder", "upload-zone", "volume-settings" })
        {
            Assert.DoesNotContain($"data-testid=\"{control}\"", html, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        Assert.Contains("You may not delete this user volume", deleteHtml, StringComparison.Ordinal);
        // The new-folder dialog is not offered to a reader, so there is no form to post.
        Assert.Equal(HttpStatusCode.BadRequest, newFolder.StatusCode);
        Assert.Equal("shared", await platform.CreateApiClient(readerToken).GetStringAsync($"/api/files/content/Storage/{owner}/persistent/shared.txt"));
        Assert.Single(await ListAsync(ownerToken, $"Storage/{owner}/persistent"));
    }

    [Fact]
    public async Task ShareDialog_SharesWithAUser_ChangesAndRevokes_AndRefusesUnknownNamesBesideTheField()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var (friend, friendToken) = await NewUserAsync();
        using var browser = await LogInAsync(owner);
        var dialog = $"/files/Storage/{owner}/persistent?act=share";

        var (_, empty) = await browser.GetAsync(dialog);
        var (unknown, unknownHtml) = await browser.SubmitAsync(dialog, "share",
            [new("Input.Kind", "user"), new("Input.Name", "nobody-" + owner), new("Input.Read", "true")]);
        var (shared, sharedHtml) = await browser.SubmitAsync(dialog, "share",
            [new("Input.Kind", "user"), new("Input.Name", friend), new("Input.Read", "true"), new("Input.Write", "true")]);
        var friendSees = await SharedWithAsync(friendToken);
        var (revoked, revokedHtml) = await browser.SubmitAsync(dialog, "unshare", [new("Principal", $"user:{friend}")]);

        Assert.Contains("data-testid=\"not-shared\"", empty, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains($"<div class=\"validation-message\">There is no user named &#x27;nobody-{owner}&#x27;.", unknownHtml, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, shared.StatusCode);
        Assert.Contains($"Shared with {friend}: read, write.", sharedHtml, StringComparison.Ordinal);
        Assert.Contains($"data-principal=\"user:{friend}\"", sharedHtml, StringComparison.Ordinal);
        Assert.Equal([$"Storage/{owner}/persistent"], friendSees);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Contains($"{friend} no longer has access.", revokedHtml, StringComparison.Ordinal);
        Assert.Empty(await SharedWithAsync(friendToken));
    }

    [Fact]
    public async Task ShareDialog_SharesWithAGroup_MembersSeeTheVolume()
    {
        var (owner, ownerToken) = await NewUserAsync();
        var (member, memberToken) = await NewUserAsync();
        var group = "Team " + owner;
        using (var api = platform.CreateApiClient(ownerToken))
        {
            var created = await api.PostAsJsonAsync("/api/groups", new { name = group });
            var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
            await api.PostAsJsonAsync($"/api/groups/{id}/invitations", new { user = member });
            using var memberApi = platform.CreateApiClient(memberToken);
            Assert.Equal(HttpStatusCode.OK, (await memberApi.PostAsync($"/api/groups/{id}/accept", null)).StatusCode);
        }

        using var browser = await LogInAsync(owner);

        var (response, html) = await browser.SubmitAsync($"/files/Temporary/{owner}/scratch?act=share", "share",
            [new("Input.Kind", "group"), new("Input.Name", group), new("Input.Read", "true"), new("Input.Write", "true"), new("Input.Delete", "true")]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"Shared with {group}: read, write, delete.", html, StringComparison.Ordinal);
        Assert.Contains($"data-principal=\"group:{group}\"", html, StringComparison.Ordinal);
        Assert.Equal([$"Temporary/{owner}/scratch"], await SharedWithAsync(memberToken));
        using var memberBrowser = await LogInAsync(member);
        var (_, memberHtml) = await memberBrowser.GetAsync($"/files/Temporary/{owner}/scratch");
        Assert.Contains("data-testid=\"access-text\">You can read, write and delete.<", memberHtml, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"upload-zone\"", memberHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"share\"", memberHtml, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DataVolume_SharedWithEveryone_IsListedAndReadOnly()
    {
        var (name, _) = await NewUserAsync();
        var volume = "sky" + name[^6..];
        var folder = Path.Combine(platform.DataDirectory, "volumes", "Data", volume);
        Directory.CreateDirectory(Path.Combine(folder, "dr19"));
        await File.WriteAllTextAsync(Path.Combine(folder, "README.txt"), "Sky survey, data release 19.");
        using (var admin = platform.CreateApiClient(await platform.LoginAdminAsync()))
        {
            var registered = await admin.PostAsJsonAsync("/api/admin/data-volumes", new { name = volume, path = volume, displayName = "Sky survey " + volume, description = "Imaging and spectra." });
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
            var id = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resourceId").GetGuid();
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/resources/{id}/privileges", new { type = "group", name = "public", actions = new[] { "read" } })).StatusCode);
        }

        using var browser = await LogInAsync(name);

        var (_, tree) = await browser.GetAsync("/files");
        var (response, html) = await browser.GetAsync($"/files/{volume}");
        var (_, readme) = await browser.GetAsync($"/files/{volume}/README.txt");

        Assert.Contains($"data-testid=\"volume-{volume}\"", tree, StringComparison.Ordinal);
        Assert.Contains($"Sky survey {volume}</span>", tree, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["dr19", "README.txt"], EntryNames(html));
        Assert.Contains("Data volume (read-only)", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"volume-description\">Imaging and spectra.<", html, StringComparison.Ordinal);
        foreach (var control in new[] { "delete", "rename", "upload-zone", "new-folder", "share", "volume-settings" })
        {
            Assert.DoesNotContain($"data-testid=\"{control}\"", html, StringComparison.Ordinal);
        }

        Assert.Contains("data-testid=\"preview-text\">Sky survey, data release 19.<", readme, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UploadForm_WithoutJavaScript_SavesTheChosenFiles_AndRefusesToReplaceUnlessAsked()
    {
        var (name, token) = await NewUserAsync();
        using var browser = await LogInAsync(name);
        var folder = $"/files/Storage/{name}/persistent";

        async Task<HttpResponseMessage> UploadAsync(string content, bool replace)
        {
            await browser.GetAsync(folder);
            using var form = new MultipartFormDataContent
            {
                { new StringContent("upload"), "_handler" },
                { new StringContent(browser.AntiforgeryToken!), "__RequestVerificationToken" },
            };
            if (replace)
            {
                form.Add(new StringContent("true"), "Replace");
            }

            var file = new ByteArrayContent(Encoding.UTF8.GetBytes(content));
            file.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            form.Add(file, "files", "notes.txt");
            return await browser.Http.PostAsync(folder, form);
        }

        var first = await UploadAsync("first", replace: false);
        var refused = await UploadAsync("second", replace: false);
        var replaced = await UploadAsync("third", replace: true);

        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        Assert.Equal($"{folder}?done=uploaded&hl=notes.txt", Local(first));
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("exists already", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, replaced.StatusCode);
        Assert.Equal("third", await platform.CreateApiClient(token).GetStringAsync($"/api/files/content/Storage/{name}/persistent/notes.txt"));
    }

    [Fact]
    public async Task BigFolder_IsPagedBy200()
    {
        var (name, token) = await NewUserAsync();
        // The volume exists once its owner has used the API; files written on disk (as a job would) show up.
        Assert.Empty(await ListAsync(token, $"Storage/{name}/persistent"));
        for (var i = 0; i < 205; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(VolumeFolder(name), $"f{i:D3}.txt"), "x");
        }

        using var browser = await LogInAsync(name);

        var (_, first) = await browser.GetAsync($"/files/Storage/{name}/persistent");
        var (_, second) = await browser.GetAsync($"/files/Storage/{name}/persistent?offset=200");

        Assert.Equal(200, EntryNames(first).Count);
        Assert.Matches("data-testid=\"pager-text\">\\s*Showing 1(–|&#x2013;)200 of 205\\s*<", first);
        Assert.Equal(["f200.txt", "f201.txt", "f202.txt", "f203.txt", "f204.txt"], EntryNames(second));
        Assert.Contains($"href=\"files/Storage/{name}/persistent\" data-testid=\"pager-previous\"", second, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NewVolumeForm_BadName_400BesideTheField_GoodName_OpensTheVolume_SettingsRenameAndDelete()
    {
        var (name, token) = await NewUserAsync();
        using var browser = await LogInAsync(name);

        var (bad, badHtml) = await browser.SubmitAsync("/files?act=new-volume", "new-volume",
            [new("Input.Root", "Storage"), new("Input.Name", "<b>x</b>"), new("Input.Description", "")]);
        var (good, _) = await browser.SubmitAsync("/files?act=new-volume", "new-volume",
            [new("Input.Root", "Temporary"), new("Input.Name", "cubes"), new("Input.Description", "Data cubes")]);
        var (_, volumePage) = await browser.GetAsync($"/files/Temporary/{name}/cubes");
        var (renamed, _) = await browser.SubmitAsync($"/files/Temporary/{name}/cubes?act=volume", "volume-edit",
            [new("Input.Name", "cubes2"), new("Input.Description", "Data cubes, v2")]);
        var (deleted, _) = await browser.SubmitAsync($"/files/Temporary/{name}/cubes2?act=volume", "volume-delete", []);

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("<div class=\"validation-message\">&#x27;&lt;b&gt;x&lt;/b&gt;&#x27; is not a valid volume name", badHtml, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, good.StatusCode);
        Assert.Equal($"/files/Temporary/{name}/cubes?done=volume-created", Local(good));
        Assert.Contains("data-testid=\"volume-description\">Data cubes<", volumePage, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"volume-settings\"", volumePage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, renamed.StatusCode);
        Assert.Equal($"/files/Temporary/{name}/cubes2?done=volume-saved", Local(renamed));
        Assert.Equal(HttpStatusCode.Redirect, deleted.StatusCode);
        Assert.Equal("/files?done=volume-deleted", Local(deleted));
        var mine = (await VolumesAsync(token)).GetProperty("mine").EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToList();
        Assert.DoesNotContain("cubes", mine);
        Assert.DoesNotContain("cubes2", mine);
        Assert.False(Directory.Exists(Path.Combine(platform.DataDirectory, "volumes", "Temporary", name, "cubes2")));
    }

    [Fact]
    public async Task FilesPage_Anonymous_RedirectsToLogin()
    {
        using var browser = new FormClient(platform);

        var (response, _) = await browser.GetAsync("/files/Storage/admin/persistent");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login?returnUrl=", Local(response), StringComparison.Ordinal);
    }

    internal static byte[] Fits(params string[] cards)
    {
        var header = new StringBuilder();
        foreach (var card in cards.Append("END"))
        {
            header.Append(card.PadRight(80));
        }

        while (header.Length % 2880 != 0)
        {
            header.Append(' ');
        }

        return Encoding.ASCII.GetBytes(header.ToString());
    }

    private string VolumeFolder(string user) => Path.Combine(platform.DataDirectory, "volumes", "Storage", user, "persistent");

    private static List<string> EntryNames(string html) =>
        EntryNamePattern().Matches(html).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).ToList();

    [GeneratedRegex("data-testid=\"entry-row\" data-name=\"([^\"]*)\"")]
    private static partial Regex EntryNamePattern();

    /// <summary>Where a redirect leads, as a path and query on this site.</summary>
    private static string Local(HttpResponseMessage response) =>
        new Uri(new Uri("http://localhost"), response.Headers.Location!).PathAndQuery;

    private static string Body(string html) => html[html.IndexOf("<main", StringComparison.Ordinal)..html.IndexOf("</main>", StringComparison.Ordinal)];

    private static async Task PutAsync(HttpClient api, string path, byte[] bytes)
    {
        var response = await api.PutAsync($"/api/files/content/{path}", new ByteArrayContent(bytes));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task ShareAsync(HttpClient api, string volume, string type, string principal, params string[] actions)
    {
        var volumes = await api.GetFromJsonAsync<JsonElement>("/api/files/volumes");
        var id = volumes.GetProperty("mine").EnumerateArray().Single(v => v.GetProperty("path").GetString() == volume).GetProperty("resourceId").GetGuid();
        var response = await api.PutAsJsonAsync($"/api/resources/{id}/privileges", new { type, name = principal, actions });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<JsonElement> VolumesAsync(string token)
    {
        using var api = platform.CreateApiClient(token);
        return await api.GetFromJsonAsync<JsonElement>("/api/files/volumes");
    }

    private async Task<List<string?>> SharedWithAsync(string token) =>
        (await VolumesAsync(token)).GetProperty("sharedWithMe").EnumerateArray().Select(v => v.GetProperty("path").GetString()).ToList();

    private async Task<List<JsonElement>> ListAsync(string token, string path)
    {
        using var api = platform.CreateApiClient(token);
        var listing = await api.GetFromJsonAsync<JsonElement>($"/api/files/list/{path}");
        return listing.GetProperty("entries").EnumerateArray().ToList();
    }

    private async Task<(string Name, string Token)> NewUserAsync()
    {
        var name = PlatformFactory.UniqueName("f");
        return (name, await platform.CreateUserAsync(name, Password));
    }

    private async Task<FormClient> LogInAsync(string name)
    {
        var browser = new FormClient(platform);
        var (response, _) = await browser.LoginAsync(name, Password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return browser;
    }
}
