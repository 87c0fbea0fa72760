using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compat;

/// <summary>SciServer's file service (/fileservice) and its discovery (/racm/storem), as SciScript's Files module calls them, on both databases.</summary>
public abstract class FileServiceTests(PlatformFactory platform)
{
    private const string Fs = "/fileservice/api";
    private const string Task = "TaskName=SciScript-Python.Files.Test";
    private const string Canary = "canary-outside-the-volume";

    [Fact]
    public async Task Discovery_ListsThisFileService_WithAnApiEndpointEndingInASlash()
    {
        var user = await NewUserAsync();

        var services = await user.Client.GetFromJsonAsync<JsonElement[]>($"/racm/storem/fileservices?{Task}");

        var service = Assert.Single(services!);
        AssertKeys(service, "identifier", "name", "description", "apiEndpoint");
        Assert.Equal("OpenSciServer", service.GetProperty("name").GetString());
        Assert.True(Guid.TryParse(service.GetProperty("identifier").GetString(), out _));
        var apiEndpoint = service.GetProperty("apiEndpoint").GetString()!;
        Assert.EndsWith("/fileservice/", apiEndpoint, StringComparison.Ordinal);
        // The client appends "api/volumes/" to the endpoint as it is.
        var volumes = await user.Client.GetAsync(new Uri(apiEndpoint).AbsolutePath + $"api/volumes/?{Task}");
        Assert.Equal(HttpStatusCode.OK, volumes.StatusCode);
    }

    [Fact]
    public async Task Volumes_HaveTheContractsShape_DefaultVolumesListed_NoServerPaths()
    {
        var user = await NewUserAsync();

        var withSlash = await user.Client.GetAsync($"{Fs}/volumes/?{Task}");
        var without = await user.Client.GetAsync($"{Fs}/volumes");
        var anyCase = await user.Client.GetAsync("/FileService/API/Volumes/");

        Assert.Equal(HttpStatusCode.OK, withSlash.StatusCode);
        Assert.Equal(HttpStatusCode.OK, without.StatusCode);
        Assert.Equal(HttpStatusCode.OK, anyCase.StatusCode);
        var text = await withSlash.Content.ReadAsStringAsync();
        Assert.DoesNotContain(platform.DataDirectory, text, StringComparison.Ordinal);
        var service = JsonDocument.Parse(text).RootElement;
        AssertKeys(service, "identifier", "name", "description", "apiEndpoint", "rootVolumes", "dataVolumes");
        Assert.EndsWith("/fileservice/", service.GetProperty("apiEndpoint").GetString(), StringComparison.Ordinal);
        var roots = service.GetProperty("rootVolumes").EnumerateArray().ToList();
        Assert.Equal(["Storage", "Temporary"], roots.Select(r => r.GetProperty("name").GetString()));
        foreach (var root in roots)
        {
            AssertKeys(root, "id", "resourceUUID", "name", "description", "pathOnFileSystem", "containsSharedVolumes", "allowedActions", "userVolumes");
            Assert.Equal("/" + root.GetProperty("name").GetString(), root.GetProperty("pathOnFileSystem").GetString());
            Assert.True(root.GetProperty("containsSharedVolumes").GetBoolean());
            Assert.True(Guid.TryParse(root.GetProperty("resourceUUID").GetString(), out _));
        }

        var storage = roots[0].GetProperty("userVolumes").EnumerateArray().ToList();
        var persistent = Assert.Single(storage);
        AssertKeys(persistent, "id", "resourceUUID", "name", "description", "relativePath", "owner", "allowedActions", "sharedWith");
        Assert.Equal("persistent", persistent.GetProperty("name").GetString());
        Assert.Equal(user.Name, persistent.GetProperty("owner").GetString());
        Assert.Equal($"{user.Name}/persistent/", persistent.GetProperty("relativePath").GetString());
        Assert.Equal(["read", "write", "delete", "grant"], Strings(persistent.GetProperty("allowedActions")));
        Assert.Empty(persistent.GetProperty("sharedWith").EnumerateArray());
        Assert.Equal(["jobs", "scratch"], roots[1].GetProperty("userVolumes").EnumerateArray().Select(v => v.GetProperty("name").GetString()));
        // SciScript's getUserVolumesInfo builds paths from root name, owner and volume name.
        Assert.Equal(1, roots[0].GetProperty("id").GetInt64());
        Assert.Equal(2, roots[1].GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task Volumes_DataVolume_ShownWithItsLogicalPath_NeverTheFolderOnTheServer()
    {
        var folder = Path.Combine(platform.DataDirectory, "volumes", "Data", "sdss-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "README.txt"), "SDSS DR19 spectra");
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var name = Path.GetFileName(folder);
        var registered = await admin.PostAsJsonAsync("/api/admin/data-volumes", new { name, path = folder, displayName = "SDSS DR19", description = "Spectra" });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var id = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resourceId").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/resources/{id}/privileges", new { type = "group", name = "public", actions = new[] { "read" } })).StatusCode);
        var user = await NewUserAsync();

        var text = await user.Client.GetStringAsync($"{Fs}/volumes/");

        Assert.DoesNotContain(folder, text, StringComparison.Ordinal);
        var data = Assert.Single(JsonDocument.Parse(text).RootElement.GetProperty("dataVolumes").EnumerateArray(), d => d.GetProperty("name").GetString() == name);
        AssertKeys(data, "id", "resourceUUID", "name", "description", "displayName", "pathOnFileSystem", "url", "writable", "allowedActions", "sharedWith");
        Assert.Equal("/" + name, data.GetProperty("pathOnFileSystem").GetString());
        Assert.Equal("SDSS DR19", data.GetProperty("displayName").GetString());
        Assert.Equal(id.ToString(), data.GetProperty("resourceUUID").GetString());
        Assert.Equal(["read"], Strings(data.GetProperty("allowedActions")));
        Assert.False(data.GetProperty("writable").GetBoolean());
        Assert.Equal("SDSS DR19 spectra", await user.Client.GetStringAsync($"{Fs}/file/{name}/README.txt"));
        var tree = await user.Client.GetFromJsonAsync<JsonElement>($"{Fs}/jsontree/{name}?level=2");
        Assert.Equal($"{name}/", tree.GetProperty("queryPath").GetString());
        Assert.Equal(name, tree.GetProperty("root").GetProperty("name").GetString());
        await SciServerAssert.ErrorAsync(await user.Client.PutAsync($"{Fs}/file/{name}/x.txt?quiet=True", new StringContent("x")), HttpStatusCode.Forbidden, "read");
        // The admin, who may share it, sees with whom it is shared.
        var seenByAdmin = (await admin.GetFromJsonAsync<JsonElement>($"{Fs}/volumes")).GetProperty("dataVolumes").EnumerateArray().Single(d => d.GetProperty("name").GetString() == name);
        var share = Assert.Single(seenByAdmin.GetProperty("sharedWith").EnumerateArray());
        AssertKeys(share, "id", "name", "type", "allowedActions");
        Assert.Equal(("public", "GROUP"), (share.GetProperty("name").GetString(), share.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task Upload_QuietFalseRefusesToReplace_QuietTrueReplaces_ETagIsTheNewFiles()
    {
        var user = await NewUserAsync();
        var url = $"{Fs}/file/Storage/{user.Name}/persistent/data/run1/spectrum.csv";

        var first = await user.Client.PutAsync($"{url}?quiet=False&{Task}", new StringContent("ra,dec\n1,2\n"));
        var again = await user.Client.PutAsync($"{url}?quiet=False&{Task}", new StringContent("replaced"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.NotNull(first.Headers.ETag);
        await SciServerAssert.ErrorAsync(again, HttpStatusCode.Conflict, "exists");
        Assert.Equal("ra,dec\n1,2\n", await user.Client.GetStringAsync(url));
        // Left out, quiet is False too (as on SciServer).
        Assert.Equal(HttpStatusCode.Conflict, (await user.Client.PutAsync(url, new StringContent("replaced"))).StatusCode);

        var replaced = await user.Client.PutAsync($"{url}?quiet=True", new StringContent("replaced"));
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal("replaced", await user.Client.GetStringAsync(url));
        var head = await user.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        Assert.Equal(replaced.Headers.ETag, head.Headers.ETag);
        Assert.NotEqual(first.Headers.ETag, replaced.Headers.ETag);
    }

    [Theory]
    [InlineData("True")]
    [InlineData("true")]
    [InlineData("TRUE")]
    public async Task Booleans_AreReadInAnyCase(string value)
    {
        var user = await NewUserAsync();
        var url = $"{Fs}/file/Storage/{user.Name}/persistent/b.txt";
        await user.Client.PutAsync(url, new StringContent("1"));

        Assert.Equal(HttpStatusCode.OK, (await user.Client.PutAsync($"{url}?quiet={value}", new StringContent("2"))).StatusCode);
        Assert.Equal("2", await user.Client.GetStringAsync(url));
        await SciServerAssert.ErrorAsync(await user.Client.PutAsync($"{url}?quiet=yes", new StringContent("3")), HttpStatusCode.BadRequest, "True or False");
    }

    [Fact]
    public async Task Download_RangeHeadAndInline()
    {
        var user = await NewUserAsync();
        var bytes = new byte[10_000];
        new Random(7).NextBytes(bytes);
        var volume = $"{Fs}/file/Storage/{user.Name}/persistent";
        await user.Client.PutAsync($"{volume}/r.bin", new ByteArrayContent(bytes));
        await user.Client.PutAsync($"{volume}/notes.txt", new StringContent("plain text"));
        await user.Client.PutAsync($"{volume}/page.html", new StringContent("<script>alert(1)</script>"));

        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"{volume}/r.bin?{Task}");
        ranged.Headers.Range = new RangeHeaderValue(100, 199);
        var part = await user.Client.SendAsync(ranged);
        var head = await user.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{volume}/r.bin"));
        var whole = await user.Client.GetAsync($"{volume}/r.bin");
        var inlineText = await user.Client.GetAsync($"{volume}/notes.txt?inline=True");
        var inlineHtml = await user.Client.GetAsync($"{volume}/page.html?inline=True");

        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(bytes[100..200], await part.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(10_000, head.Content.Headers.ContentLength);
        Assert.Equal("attachment", whole.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("application/octet-stream", whole.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes, await whole.Content.ReadAsByteArrayAsync());
        Assert.Equal("text/plain", inlineText.Content.Headers.ContentType?.MediaType);
        Assert.Null(inlineText.Content.Headers.ContentDisposition);
        Assert.Equal("attachment", inlineHtml.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("application/octet-stream", inlineHtml.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", inlineHtml.Headers.GetValues("X-Content-Type-Options").Single());
        await SciServerAssert.ErrorAsync(await user.Client.GetAsync($"{volume}/missing.txt"), HttpStatusCode.NotFound, "missing.txt");
    }

    [Fact]
    public async Task JsonTree_ListsToTheLevelAsked_EmptyArraysOmitted_IsoTimes()
    {
        var user = await NewUserAsync();
        var volume = $"Storage/{user.Name}/persistent";
        await user.Client.PutAsync($"{Fs}/file/{volume}/top.txt", new StringContent("12345"));
        await user.Client.PutAsync($"{Fs}/file/{volume}/a/one.csv", new StringContent("1"));
        await user.Client.PutAsync($"{Fs}/file/{volume}/a/b/two.csv", new StringContent("22"));
        // SciScript's createDir sends "volume//folder": a doubled slash.
        Assert.Equal(HttpStatusCode.OK, (await user.Client.PutAsync($"{Fs}/folder/{volume}//empty?quiet=True&{Task}", null)).StatusCode);

        var level1 = await user.Client.GetFromJsonAsync<JsonElement>($"{Fs}/jsontree/{volume}/?options=&level=1&{Task}");
        var level2 = await user.Client.GetFromJsonAsync<JsonElement>($"{Fs}/jsontree/{volume}/?level=2");
        var level3 = await user.Client.GetFromJsonAsync<JsonElement>($"{Fs}/jsontree/{volume}?level=3");
        var all = await user.Client.GetFromJsonAsync<JsonElement>($"{Fs}/jsontree/{volume}/a");
        var csvOnly = await user.Client.GetFromJsonAsync<JsonElement>($"{Fs}/jsontree/{volume}?options=**.csv");

        AssertKeys(level1, "root", "queryPath");
        Assert.Equal($"{volume}/", level1.GetProperty("queryPath").GetString());
        AssertKeys(level1.GetProperty("root"), "name", "lastModified", "creationTime");
        Assert.Equal("persistent", level1.GetProperty("root").GetProperty("name").GetString());

        var root2 = level2.GetProperty("root");
        AssertKeys(root2, "name", "lastModified", "creationTime", "folders", "files");
        Assert.Equal(["a", "empty"], Names(root2, "folders"));
        Assert.Equal(["top.txt"], Names(root2, "files"));
        var top = root2.GetProperty("files")[0];
        AssertKeys(top, "name", "size", "lastModified", "creationTime");
        Assert.Equal(5, top.GetProperty("size").GetInt64());
        foreach (var time in new[] { top.GetProperty("lastModified").GetString()!, root2.GetProperty("creationTime").GetString()! })
        {
            Assert.EndsWith("Z", time, StringComparison.Ordinal);
            Assert.True(DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.None, out _), time);
        }

        // At the last level, folders come without content: their empty arrays are left out.
        AssertKeys(root2.GetProperty("folders")[0], "name", "lastModified", "creationTime");
        var a3 = level3.GetProperty("root").GetProperty("folders")[0];
        Assert.Equal(["b"], Names(a3, "folders"));
        Assert.Equal(["one.csv"], Names(a3, "files"));
        AssertKeys(a3.GetProperty("folders")[0], "name", "lastModified", "creationTime");
        AssertKeys(level3.GetProperty("root").GetProperty("folders")[1], "name", "lastModified", "creationTime");

        Assert.Equal($"{volume}/a", all.GetProperty("queryPath").GetString());
        Assert.Equal(["two.csv"], Names(all.GetProperty("root").GetProperty("folders")[0], "files"));
        Assert.Equal(["a", "empty"], Names(csvOnly.GetProperty("root"), "folders"));
        Assert.False(csvOnly.GetProperty("root").TryGetProperty("files", out _));
        Assert.Equal(["one.csv"], Names(csvOnly.GetProperty("root").GetProperty("folders")[0], "files"));

        await SciServerAssert.ErrorAsync(await user.Client.GetAsync($"{Fs}/jsontree/{volume}?level=0"), HttpStatusCode.BadRequest, "level");
        await SciServerAssert.ErrorAsync(await user.Client.GetAsync($"{Fs}/jsontree/{volume}/nothing-here"), HttpStatusCode.NotFound, "nothing-here");
    }

    [Fact]
    public async Task Folder_QuietFalseRefusesAnExistingOne()
    {
        var user = await NewUserAsync();
        var url = $"{Fs}/folder/Storage/{user.Name}/persistent/results";

        Assert.Equal(HttpStatusCode.OK, (await user.Client.PutAsync($"{url}?quiet=False", null)).StatusCode);
        await SciServerAssert.ErrorAsync(await user.Client.PutAsync($"{url}?quiet=False", null), HttpStatusCode.Conflict, "exists");
        Assert.Equal(HttpStatusCode.OK, (await user.Client.PutAsync($"{url}?quiet=True", null)).StatusCode);
        Assert.True(Directory.Exists(Path.Combine(VolumeFolder(user.Name), "results")));
    }

    [Fact]
    public async Task MoveAndCopy_WithSciScriptsBody_BetweenVolumes()
    {
        var user = await NewUserAsync();
        var volume = $"Storage/{user.Name}/persistent";
        await user.Client.PutAsync($"{Fs}/file/{volume}/a/one.txt", new StringContent("1"));
        await user.Client.PutAsync($"{Fs}/file/{volume}/a/sub/two.txt", new StringContent("22"));
        await user.Client.PutAsync($"{Fs}/file/{volume}/other.txt", new StringContent("other"));

        var copy = await user.Client.PutAsJsonAsync($"{Fs}/data/{volume}/a?replaceExisting=False&doCopy=True&{Task}",
            Destination("a-copy", "Temporary", user.Name, "scratch"));
        Assert.Equal(HttpStatusCode.OK, copy.StatusCode);
        Assert.Equal("22", await user.Client.GetStringAsync($"{Fs}/file/Temporary/{user.Name}/scratch/a-copy/sub/two.txt"));
        Assert.Equal("1", await user.Client.GetStringAsync($"{Fs}/file/{volume}/a/one.txt"));

        var move = await user.Client.PutAsJsonAsync($"{Fs}/data/{volume}/a/one.txt?replaceExisting=False&doCopy=False",
            Destination("renamed.txt", "Storage", user.Name, "persistent"));
        Assert.Equal(HttpStatusCode.OK, move.StatusCode);
        Assert.Equal("1", await user.Client.GetStringAsync($"{Fs}/file/{volume}/renamed.txt"));
        Assert.Equal(HttpStatusCode.NotFound, (await user.Client.GetAsync($"{Fs}/file/{volume}/a/one.txt")).StatusCode);

        var clash = await user.Client.PutAsJsonAsync($"{Fs}/data/{volume}/other.txt?replaceExisting=False&doCopy=True",
            Destination("renamed.txt", "Storage", user.Name, "persistent"));
        await SciServerAssert.ErrorAsync(clash, HttpStatusCode.Conflict, "exists");
        Assert.Equal("1", await user.Client.GetStringAsync($"{Fs}/file/{volume}/renamed.txt"));

        var replace = await user.Client.PutAsJsonAsync($"{Fs}/data/{volume}/other.txt?replaceExisting=True&doCopy=False",
            Destination("renamed.txt", "Storage", user.Name, "persistent"));
        Assert.Equal(HttpStatusCode.OK, replace.StatusCode);
        Assert.Equal("other", await user.Client.GetStringAsync($"{Fs}/file/{volume}/renamed.txt"));
        Assert.Equal(HttpStatusCode.NotFound, (await user.Client.GetAsync($"{Fs}/file/{volume}/other.txt")).StatusCode);
    }

    [Fact]
    public async Task Move_ABodyThatNamesNoVolumeOrAnotherService_Is400()
    {
        var user = await NewUserAsync();
        var volume = $"Storage/{user.Name}/persistent";
        await user.Client.PutAsync($"{Fs}/file/{volume}/x.txt", new StringContent("x"));
        var url = $"{Fs}/data/{volume}/x.txt?doCopy=True";

        await SciServerAssert.ErrorAsync(await user.Client.PutAsJsonAsync(url, new { destinationPath = "y.txt", destinationFileService = "FileServiceJHU", destinationRootVolume = "Storage", destinationOwnerName = user.Name, destinationUserVolume = "persistent" }),
            HttpStatusCode.BadRequest, "another file service");
        await SciServerAssert.ErrorAsync(await user.Client.PutAsJsonAsync(url, new { destinationPath = "y.txt" }), HttpStatusCode.BadRequest, "destinationRootVolume");
        await SciServerAssert.ErrorAsync(await user.Client.PutAsJsonAsync(url, new { destinationPath = "y.txt", destinationRootVolume = "Storage" }), HttpStatusCode.BadRequest, "destinationOwnerName");
        await SciServerAssert.ErrorAsync(await user.Client.PutAsJsonAsync(url, new { destinationRootVolume = "Storage", destinationOwnerName = user.Name, destinationUserVolume = "persistent" }), HttpStatusCode.BadRequest, "destinationPath");
        await SciServerAssert.ErrorAsync(await user.Client.PutAsJsonAsync(url, Destination("y.txt", "Nowhere", user.Name, "persistent")), HttpStatusCode.NotFound, "Nowhere");
        Assert.Equal(["x.txt"], Directory.GetFileSystemEntries(VolumeFolder(user.Name)).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Delete_FileAndFolder_QuietAcceptsWhatIsMissing()
    {
        var user = await NewUserAsync();
        var volume = $"Storage/{user.Name}/persistent";
        await user.Client.PutAsync($"{Fs}/file/{volume}/f.txt", new StringContent("f"));
        await user.Client.PutAsync($"{Fs}/file/{volume}/dir/g.txt", new StringContent("g"));

        Assert.Equal(HttpStatusCode.OK, (await user.Client.DeleteAsync($"{Fs}/data/{volume}/f.txt?quiet=False&{Task}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await user.Client.DeleteAsync($"{Fs}/data/{volume}/dir?quiet=False")).StatusCode);
        Assert.Empty(Directory.GetFileSystemEntries(VolumeFolder(user.Name)));
        await SciServerAssert.ErrorAsync(await user.Client.DeleteAsync($"{Fs}/data/{volume}/f.txt?quiet=False"), HttpStatusCode.NotFound, "f.txt");
        Assert.Equal(HttpStatusCode.OK, (await user.Client.DeleteAsync($"{Fs}/data/{volume}/f.txt?quiet=True")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await user.Client.DeleteAsync($"{Fs}/data/{volume}/no/such/folder?quiet=True")).StatusCode);
        // quiet does not pretend for volumes the caller cannot reach.
        await SciServerAssert.ErrorAsync(await user.Client.DeleteAsync($"{Fs}/data/Storage/nobody_here/persistent/f.txt?quiet=True"), HttpStatusCode.NotFound, "no volume");
    }

    [Fact]
    public async Task UserVolume_CreateWithDescription_QuietAndDelete()
    {
        var user = await NewUserAsync();
        var url = $"{Fs}/volume/Storage/{user.Name}/project-x";

        var created = await user.Client.PutAsJsonAsync($"{url}?quiet=False&{Task}", new { description = "X-ray clusters" });
        var bare = await user.Client.PutAsync($"{Fs}/volume/Storage/{user.Name}/project-y?quiet=False", null);
        var again = await user.Client.PutAsync($"{url}?quiet=False", null);
        var quietAgain = await user.Client.PutAsync($"{url}?quiet=True", null);
        var forAnother = await user.Client.PutAsync($"{Fs}/volume/Storage/someone_else/project-x", null);

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bare.StatusCode);
        await SciServerAssert.ErrorAsync(again, HttpStatusCode.Conflict, "already");
        Assert.Equal(HttpStatusCode.OK, quietAgain.StatusCode);
        await SciServerAssert.ErrorAsync(forAnother, HttpStatusCode.Forbidden, "your own name");
        var storage = (await user.Client.GetFromJsonAsync<JsonElement>($"{Fs}/volumes")).GetProperty("rootVolumes")[0].GetProperty("userVolumes").EnumerateArray().ToList();
        Assert.Equal(["persistent", "project-x", "project-y"], storage.Select(v => v.GetProperty("name").GetString()));
        Assert.Equal("X-ray clusters", storage[1].GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.OK, (await user.Client.PutAsync($"{Fs}/file/Storage/{user.Name}/project-x/notes.txt", new StringContent("n"))).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await user.Client.DeleteAsync($"{url}?quiet=False")).StatusCode);
        Assert.False(Directory.Exists(Path.Combine(platform.DataDirectory, "volumes", "Storage", user.Name, "project-x")));
        await SciServerAssert.ErrorAsync(await user.Client.DeleteAsync($"{url}?quiet=False"), HttpStatusCode.NotFound, "project-x");
        Assert.Equal(HttpStatusCode.OK, (await user.Client.DeleteAsync($"{url}?quiet=True")).StatusCode);
    }

    [Fact]
    public async Task Share_ReadOnly_GranteeReadsButCannotWrite_RevokedGetsTheSame404AsAMissingVolume()
    {
        var owner = await NewUserAsync();
        var reader = await NewUserAsync();
        var volume = $"Storage/{owner.Name}/persistent";
        await owner.Client.PutAsync($"{Fs}/file/{volume}/shared.txt", new StringContent("for reading"));

        var share = await owner.Client.PatchAsJsonAsync($"{Fs}/share/{volume}?{Task}", new[] { new { name = reader.Name, type = "USER", allowedActions = new[] { "read" } } });

        Assert.Equal(HttpStatusCode.OK, share.StatusCode);
        var seen = (await reader.Client.GetFromJsonAsync<JsonElement>($"{Fs}/volumes")).GetProperty("rootVolumes")[0].GetProperty("userVolumes").EnumerateArray()
            .Single(v => v.GetProperty("owner").GetString() == owner.Name);
        Assert.Equal("persistent", seen.GetProperty("name").GetString());
        Assert.Equal(["read"], Strings(seen.GetProperty("allowedActions")));
        var sharedWith = (await owner.Client.GetFromJsonAsync<JsonElement>($"{Fs}/volumes")).GetProperty("rootVolumes")[0].GetProperty("userVolumes")[0].GetProperty("sharedWith");
        var entry = Assert.Single(sharedWith.EnumerateArray());
        Assert.Equal((reader.Name, "USER"), (entry.GetProperty("name").GetString(), entry.GetProperty("type").GetString()));
        Assert.Equal(reader.Id, entry.GetProperty("id").GetString());
        Assert.Equal(["read"], Strings(entry.GetProperty("allowedActions")));

        Assert.Equal("for reading", await reader.Client.GetStringAsync($"{Fs}/file/{volume}/shared.txt"));
        Assert.Equal(HttpStatusCode.OK, (await reader.Client.GetAsync($"{Fs}/jsontree/{volume}?level=2")).StatusCode);
        await SciServerAssert.ErrorAsync(await reader.Client.PutAsync($"{Fs}/file/{volume}/shared.txt?quiet=True", new StringContent("changed")), HttpStatusCode.Forbidden, "read");
        await SciServerAssert.ErrorAsync(await reader.Client.PutAsync($"{Fs}/file/{volume}/new.txt", new StringContent("new")), HttpStatusCode.Forbidden, "read");
        await SciServerAssert.ErrorAsync(await reader.Client.PutAsync($"{Fs}/folder/{volume}/newdir", null), HttpStatusCode.Forbidden, "read");
        await SciServerAssert.ErrorAsync(await reader.Client.DeleteAsync($"{Fs}/data/{volume}/shared.txt"), HttpStatusCode.Forbidden, "read");
        await SciServerAssert.ErrorAsync(await reader.Client.PutAsJsonAsync($"{Fs}/data/{volume}/shared.txt?doCopy=False", Destination("moved.txt", "Storage", owner.Name, "persistent")), HttpStatusCode.Forbidden, "read");
        await SciServerAssert.ErrorAsync(await reader.Client.DeleteAsync($"{Fs}/volume/{volume}"), HttpStatusCode.Forbidden, "owner");
        await SciServerAssert.ErrorAsync(await reader.Client.PatchAsJsonAsync($"{Fs}/share/{volume}", new[] { new { name = reader.Name, type = "USER", allowedActions = new[] { "read", "write" } } }),
            HttpStatusCode.Forbidden, "grant");
        // Copying out needs only read, into a volume of the reader's own.
        Assert.Equal(HttpStatusCode.OK, (await reader.Client.PutAsJsonAsync($"{Fs}/data/{volume}/shared.txt?doCopy=True", Destination("mine.txt", "Storage", reader.Name, "persistent"))).StatusCode);
        Assert.Equal(["shared.txt"], Directory.GetFileSystemEntries(VolumeFolder(owner.Name)).Select(Path.GetFileName));
        Assert.Equal("for reading", await owner.Client.GetStringAsync($"{Fs}/file/{volume}/shared.txt"));

        var revoke = await owner.Client.PatchAsJsonAsync($"{Fs}/share/{volume}", new[] { new { name = reader.Name, type = "user", allowedActions = Array.Empty<string>() } });

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        var revoked = await reader.Client.GetAsync($"{Fs}/file/{volume}/shared.txt");
        var missing = await reader.Client.GetAsync($"{Fs}/file/Storage/nobody_here/persistent/shared.txt");
        Assert.Equal(HttpStatusCode.NotFound, revoked.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(
            (await missing.Content.ReadAsStringAsync()).Replace("nobody_here", "X", StringComparison.Ordinal),
            (await revoked.Content.ReadAsStringAsync()).Replace(owner.Name, "X", StringComparison.Ordinal));
        Assert.DoesNotContain((await reader.Client.GetFromJsonAsync<JsonElement>($"{Fs}/volumes")).GetProperty("rootVolumes")[0].GetProperty("userVolumes").EnumerateArray(),
            v => v.GetProperty("owner").GetString() == owner.Name);
    }

    [Fact]
    public async Task Share_BadEntries_Return400AndChangeNothing()
    {
        var owner = await NewUserAsync();
        var other = await NewUserAsync();
        var url = $"{Fs}/share/Storage/{owner.Name}/persistent";

        await SciServerAssert.ErrorAsync(await owner.Client.PatchAsJsonAsync(url, new object[] { new { name = other.Name, type = "USER", allowedActions = new[] { "read" } }, new { name = other.Name, type = "ROBOT", allowedActions = new[] { "read" } } }),
            HttpStatusCode.BadRequest, "USER or GROUP");
        await SciServerAssert.ErrorAsync(await owner.Client.PatchAsJsonAsync(url, new[] { new { name = other.Name, type = "USER", allowedActions = new[] { "execute" } } }), HttpStatusCode.BadRequest, "execute");
        await SciServerAssert.ErrorAsync(await owner.Client.PatchAsJsonAsync(url, new[] { new { name = "no_such_user_here", type = "USER", allowedActions = new[] { "read" } } }), HttpStatusCode.BadRequest, "no_such_user_here");
        await SciServerAssert.ErrorAsync(await other.Client.PatchAsJsonAsync(url, new[] { new { name = other.Name, type = "USER", allowedActions = new[] { "read" } } }), HttpStatusCode.NotFound, "no volume");

        Assert.Equal(HttpStatusCode.NotFound, (await other.Client.GetAsync($"{Fs}/jsontree/Storage/{owner.Name}/persistent")).StatusCode);
    }

    [Fact]
    public async Task Usage_ListsTheRootVolumesWithAQuota()
    {
        var user = await NewUserAsync();
        await user.Client.PutAsync($"{Fs}/file/Storage/{user.Name}/persistent/u.bin", new ByteArrayContent(new byte[1234]));
        await user.Client.PutAsync($"{Fs}/file/Temporary/{user.Name}/scratch/t.bin", new ByteArrayContent(new byte[10]));

        var usage = await user.Client.GetFromJsonAsync<JsonElement[]>($"{Fs}/usage?{Task}");

        var storage = Assert.Single(usage!);
        AssertKeys(storage, "rootVolumeId", "rootVolumeName", "username", "numberOfFilesUsed", "numberOfFilesQuota", "numberOfBytesUsed", "numberOfBytesQuota");
        Assert.Equal("Storage", storage.GetProperty("rootVolumeName").GetString());
        Assert.Equal(1, storage.GetProperty("rootVolumeId").GetInt64());
        Assert.Equal(user.Name, storage.GetProperty("username").GetString());
        Assert.Equal(1234, storage.GetProperty("numberOfBytesUsed").GetInt64());
        Assert.Equal(1, storage.GetProperty("numberOfFilesUsed").GetInt64());
        Assert.Equal(10L * 1024 * 1024 * 1024, storage.GetProperty("numberOfBytesQuota").GetInt64());
        Assert.Equal(200_000, storage.GetProperty("numberOfFilesQuota").GetInt64());
    }

    [Theory]
    [InlineData("../")]
    [InlineData("..%2f")]
    [InlineData("%2e%2e%2f")]
    [InlineData("%252e%252e%252f")]
    [InlineData("....//")]
    [InlineData("..%5c")]
    public async Task Traversal_InThePath_IsRefused_NothingOutsideTouched(string up)
    {
        var user = await NewUserAsync();
        var outside = PlantCanary(user.Name);
        var volume = $"Storage/{user.Name}/persistent";
        await user.Client.PutAsync($"{Fs}/file/{volume}/mine.txt", new StringContent("mine"));
        var escape = string.Concat(Enumerable.Repeat(up, 3));

        var move = JsonSerializer.Serialize(Destination("stolen.txt", "Storage", user.Name, "persistent"));
        var attempts = new[]
        {
            await SendRawAsync(user.Token, "GET", $"{Fs}/file/{volume}/{escape}secret.txt"),
            await SendRawAsync(user.Token, "GET", $"{Fs}/jsontree/{volume}/{escape}"),
            await SendRawAsync(user.Token, "PUT", $"{Fs}/file/{volume}/{escape}planted.txt", "quiet=True", "planted"),
            await SendRawAsync(user.Token, "PUT", $"{Fs}/folder/{volume}/{escape}planted-dir", "quiet=True"),
            await SendRawAsync(user.Token, "DELETE", $"{Fs}/data/{volume}/{escape}secret.txt", "quiet=True"),
            await SendRawAsync(user.Token, "PUT", $"{Fs}/data/{volume}/{escape}secret.txt", "doCopy=True", move),
        };

        foreach (var (status, body) in attempts)
        {
            // 400 from the path checks: the request reached the route and was refused there, not lost on the way.
            Assert.True(status is 400, $"{up}: {status} {body}");
            Assert.DoesNotContain(Canary, body, StringComparison.Ordinal);
            using var json = JsonDocument.Parse(body);
            Assert.Equal("error", json.RootElement.GetProperty("status").GetString());
        }

        AssertUntouched(user.Name, outside);
    }

    [Theory]
    [InlineData("../../secret.txt")]
    [InlineData("%2e%2e%2f%2e%2e%2fsecret.txt")]
    [InlineData("..\\..\\secret.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\x")]
    public async Task Traversal_InTheMoveBody_IsRefused_NothingOutsideTouched(string evil)
    {
        var user = await NewUserAsync();
        var outside = PlantCanary(user.Name);
        var volume = $"Storage/{user.Name}/persistent";
        await user.Client.PutAsync($"{Fs}/file/{volume}/mine.txt", new StringContent("mine"));

        var attempts = new[]
        {
            await user.Client.PutAsJsonAsync($"{Fs}/data/{volume}/mine.txt?doCopy=False", Destination(evil, "Storage", user.Name, "persistent")),
            await user.Client.PutAsJsonAsync($"{Fs}/data/{volume}/mine.txt?doCopy=True", Destination("x.txt", "Storage", evil, "persistent")),
            await user.Client.PutAsJsonAsync($"{Fs}/data/{volume}/mine.txt?doCopy=True", Destination("x.txt", "Storage", user.Name, evil)),
            await user.Client.PutAsJsonAsync($"{Fs}/data/{volume}/mine.txt?doCopy=True", Destination("x.txt", evil, user.Name, "persistent")),
            await user.Client.PutAsJsonAsync($"{Fs}/data/{volume}/mine.txt?doCopy=True", new { destinationPath = "x.txt", destinationDataVolume = evil }),
        };

        foreach (var response in attempts)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{(int)response.StatusCode} {body}");
            using var json = JsonDocument.Parse(body);
            Assert.Equal("error", json.RootElement.GetProperty("status").GetString());
        }

        AssertUntouched(user.Name, outside);
        Assert.Equal("mine", await user.Client.GetStringAsync($"{Fs}/file/{volume}/mine.txt"));
        Assert.Equal(["mine.txt"], Directory.GetFileSystemEntries(VolumeFolder(user.Name)).Select(Path.GetFileName));
    }

    [Fact]
    public async Task SymlinksOutOfTheVolume_AreNeitherListedNorFollowed()
    {
        var user = await NewUserAsync();
        var victim = await NewUserAsync();
        await victim.Client.PutAsync($"{Fs}/file/Storage/{victim.Name}/persistent/private.txt", new StringContent("victim's secret"));
        var volume = $"Storage/{user.Name}/persistent";
        await user.Client.PutAsync($"{Fs}/file/{volume}/real/data.txt", new StringContent("mine"));
        // What a session or job running as the user could create on disk.
        File.CreateSymbolicLink(Path.Combine(VolumeFolder(user.Name), "etc"), "/etc");
        File.CreateSymbolicLink(Path.Combine(VolumeFolder(user.Name), "real", "passwd"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Combine(VolumeFolder(user.Name), "victim"), VolumeFolder(victim.Name));

        var tree = await user.Client.GetStringAsync($"{Fs}/jsontree/{volume}?level=4");
        var attempts = new[]
        {
            await user.Client.GetAsync($"{Fs}/file/{volume}/real/passwd"),
            await user.Client.GetAsync($"{Fs}/file/{volume}/victim/private.txt"),
            await user.Client.GetAsync($"{Fs}/jsontree/{volume}/etc"),
            await user.Client.PutAsync($"{Fs}/file/{volume}/victim/planted.txt?quiet=True", new StringContent("x")),
            await user.Client.PutAsJsonAsync($"{Fs}/data/{volume}/victim/private.txt?doCopy=True", Destination("got.txt", "Storage", user.Name, "persistent")),
            await user.Client.DeleteAsync($"{Fs}/data/{volume}/victim/private.txt?quiet=True"),
        };

        var listed = JsonDocument.Parse(tree).RootElement.GetProperty("root");
        Assert.Equal(["real"], Names(listed, "folders"));
        Assert.Equal(["data.txt"], Names(listed.GetProperty("folders")[0], "files"));
        foreach (var response in attempts)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{response.RequestMessage?.RequestUri}: {(int)response.StatusCode}");
            Assert.DoesNotContain("root:x:0", body, StringComparison.Ordinal);
            Assert.DoesNotContain("victim's secret", body, StringComparison.Ordinal);
        }

        Assert.Equal("victim's secret", await victim.Client.GetStringAsync($"{Fs}/file/Storage/{victim.Name}/persistent/private.txt"));
        Assert.False(File.Exists(Path.Combine(VolumeFolder(victim.Name), "planted.txt")));
        Assert.False(File.Exists(Path.Combine(VolumeFolder(user.Name), "got.txt")));
    }

    [Fact]
    public async Task Token_InQueryOrPortalCookie_IsAccepted()
    {
        var user = await NewUserAsync();
        using var anonymous = platform.CreateApiClient();

        var byQuery = await anonymous.PutAsync($"{Fs}/file/Storage/{user.Name}/persistent/q.txt?quiet=True&token={user.Token}", new StringContent("by query"));
        using var withCookie = new HttpRequestMessage(HttpMethod.Get, $"{Fs}/file/Storage/{user.Name}/persistent/q.txt");
        withCookie.Headers.Add("Cookie", $"portalCookie={user.Token}");
        var byCookie = await anonymous.SendAsync(withCookie);
        var discovery = await anonymous.GetAsync($"/racm/storem/fileservices?token={user.Token}");

        Assert.Equal(HttpStatusCode.OK, byQuery.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byCookie.StatusCode);
        Assert.Equal("by query", await byCookie.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, discovery.StatusCode);

        // A cookie is ambient: a write it authenticates needs the antiforgery token.
        using var forged = new HttpRequestMessage(HttpMethod.Put, $"{Fs}/file/Storage/{user.Name}/persistent/forged.txt?quiet=True") { Content = new StringContent("x") };
        forged.Headers.Add("Cookie", $"portalCookie={user.Token}");
        await SciServerAssert.ErrorAsync(await anonymous.SendAsync(forged), HttpStatusCode.BadRequest, "antiforgery");
        Assert.False(File.Exists(Path.Combine(VolumeFolder(user.Name), "forged.txt")));
    }

    [Fact]
    public async Task NoToken_Returns401WithSciServerError()
    {
        using var anonymous = platform.CreateApiClient();

        await SciServerAssert.ErrorAsync(await anonymous.GetAsync($"{Fs}/volumes/"), HttpStatusCode.Unauthorized, "X-Auth-Token");
        await SciServerAssert.ErrorAsync(await anonymous.GetAsync("/racm/storem/fileservices"), HttpStatusCode.Unauthorized, "X-Auth-Token");
        await SciServerAssert.ErrorAsync(await anonymous.PutAsync($"{Fs}/file/Storage/admin/persistent/x.txt", new StringContent("x")), HttpStatusCode.Unauthorized, "X-Auth-Token");
    }

    private sealed record TestUser(string Name, string Id, string Token, HttpClient Client);

    private async Task<TestUser> NewUserAsync()
    {
        var name = PlatformFactory.UniqueName("fs");
        var token = await platform.CreateUserAsync(name);
        var client = platform.CreateApiClient(token);
        var account = await client.GetFromJsonAsync<JsonElement>("/api/account");
        return new TestUser(name, account.GetProperty("id").GetString()!, token, client);
    }

    /// <summary>SciScript's move body: destinationPath is relative to the destination user volume.</summary>
    private static object Destination(string path, string root, string owner, string volume) => new
    {
        destinationPath = path,
        destinationRootVolume = root,
        destinationUserVolume = volume,
        destinationOwnerName = owner,
        destinationFileService = "OpenSciServer",
    };

    /// <summary>
    /// Sends the path as the server decodes it (percent-escapes decoded, except an encoded '/'), with no
    /// client-side removal of dot segments, which HttpClient would do.
    /// </summary>
    private async Task<(int Status, string Body)> SendRawAsync(string token, string method, string rawPath, string query = "", string? body = null)
    {
        var context = await platform.Server.SendAsync(c =>
        {
            c.Request.Method = method;
            c.Request.Path = PathString.FromUriComponent(rawPath);
            c.Request.QueryString = new QueryString("?" + query);
            c.Request.Headers["X-Auth-Token"] = token;
            if (body is not null)
            {
                c.Request.ContentType = body.StartsWith('{') ? "application/json" : "text/plain";
                c.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
                c.Request.ContentLength = Encoding.UTF8.GetByteCount(body);
            }
        });
        return (context.Response.StatusCode, await new StreamReader(context.Response.Body).ReadToEndAsync());
    }

    private string VolumeFolder(string user) => Path.Combine(platform.DataDirectory, "volumes", "Storage", user, "persistent");

    private string PlantCanary(string user)
    {
        var path = Path.Combine(platform.DataDirectory, "volumes", "Storage", user, "secret.txt");
        File.WriteAllText(path, Canary);
        return path;
    }

    private void AssertUntouched(string user, string canary)
    {
        Assert.Equal(Canary, File.ReadAllText(canary));
        var userFolder = Path.Combine(platform.DataDirectory, "volumes", "Storage", user);
        Assert.Equal(["persistent", "secret.txt"], Directory.GetFileSystemEntries(userFolder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["mine.txt"], Directory.GetFileSystemEntries(VolumeFolder(user)).Select(Path.GetFileName));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(Path.Combine(platform.DataDirectory, "volumes", "Storage")), e => Path.GetFileName(e) is "planted.txt" or "planted-dir" or "stolen.txt");
    }

    private static void AssertKeys(JsonElement element, params string[] keys) =>
        Assert.Equal(keys.Order(StringComparer.Ordinal), element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

    private static List<string?> Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString())];

    private static List<string?> Names(JsonElement folder, string property) => [.. folder.GetProperty(property).EnumerateArray().Select(e => e.GetProperty("name").GetString())];
}

public sealed class FileServiceSqliteTests(SqlitePlatform platform) : FileServiceTests(platform), IClassFixture<SqlitePlatform>;

public sealed class FileServicePostgresTests(PostgresPlatform platform) : FileServiceTests(platform), IClassFixture<PostgresPlatform>;

/// <summary>
/// Plain Python <c>requests</c> calls made the way SciScript's Files module makes them (discovery, volumes,
/// createDir with its doubled slash, upload of data and of a file larger than Kestrel's default body
/// limit, dirList, download, move, delete) against the platform on a real port.
/// </summary>
public sealed class FileServicePythonTests : IAsyncLifetime
{
    private const string Script = """
        import sys
        import requests

        base, token, user, big_file = sys.argv[1:5]
        headers = {"X-Auth-Token": token}
        task = "SciScript-Python.Files.Test"

        def ok(response, what):
            if not 200 <= response.status_code < 300:
                raise SystemExit("%s: %d %s" % (what, response.status_code, response.content.decode()))
            return response

        services = ok(requests.get(base + "/racm/storem/fileservices?TaskName=" + task, headers=headers), "discovery").json()
        api = services[0]["apiEndpoint"]
        assert api.endswith("/"), api
        volumes = ok(requests.get(api + "api/volumes/?TaskName=" + task, headers=headers), "volumes").json()
        paths = [rv["name"] + "/" + uv["owner"] + "/" + uv["name"] for rv in volumes["rootVolumes"] for uv in rv["userVolumes"]]
        volume = "Storage/%s/persistent" % user
        assert volume in paths, paths

        ok(requests.put(api + "api/folder/" + volume + "/" + "/results" + "?quiet=" + str(True) + "&TaskName=" + task, headers=headers), "createDir")
        ok(requests.put(api + "api/file/" + volume + "/results/hello.txt?quiet=" + str(True) + "&TaskName=" + task,
                        data="hello from python", headers=headers, stream=True), "upload data")
        with open(big_file, "rb") as f:
            ok(requests.put(api + "api/file/" + volume + "/results/big.bin?quiet=" + str(True) + "&TaskName=" + task,
                            data=f, headers=headers, stream=True), "upload file")
        again = requests.put(api + "api/file/" + volume + "/results/hello.txt?quiet=" + str(False) + "&TaskName=" + task,
                             data="replaced", headers=headers)
        assert again.status_code == 409 and again.json()["status"] == "error", again.content

        tree = ok(requests.get(api + "api/jsontree/" + volume + "/results?options=" + "" + "&level=" + str(2) + "&TaskName=" + task,
                               headers=headers), "dirList").json()
        assert sorted(f["name"] for f in tree["root"]["files"]) == ["big.bin", "hello.txt"], tree
        assert [f["size"] for f in tree["root"]["files"] if f["name"] == "big.bin"] == [31000000], tree

        text = ok(requests.get(api + "api/file/" + volume + "/results/hello.txt?TaskName=" + task, stream=True, headers=headers), "download").content.decode()
        assert text == "hello from python", text

        body = {"destinationPath": "results/moved.txt", "destinationRootVolume": "Temporary", "destinationUserVolume": "scratch",
                "destinationOwnerName": user, "destinationFileService": services[0]["name"]}
        ok(requests.put(api + "api/data/" + volume + "/results/hello.txt?replaceExisting=" + str(True) + "&doCopy=" + str(False) + "&TaskName=" + task,
                        stream=True, headers=dict(headers, **{"Content-Type": "application/json"}), json=body), "move")
        moved = ok(requests.get(api + "api/file/Temporary/" + user + "/scratch/results/moved.txt", headers=headers), "download moved").content.decode()
        assert moved == "hello from python", moved
        ok(requests.delete(api + "api/data/" + volume + "/results/big.bin?quiet=" + str(True) + "&TaskName=" + task, headers=headers), "delete")

        # What the HTTP library sends as written: no client-side cleaning of "..".
        escape = requests.Request("GET", api + "api/file/" + volume + "/../../../secret.txt", headers=headers).prepare()
        escape.url = api + "api/file/" + volume + "/../../../secret.txt"
        refused = requests.Session().send(escape)
        assert refused.status_code in (400, 404), (refused.status_code, refused.content)
        print("SCISCRIPT-FILES-OK")
        """;

    private PlatformFactory? _platform;

    public async Task InitializeAsync()
    {
        _platform = new PlatformFactory { KestrelPort = TestPorts.Free() };
        await _platform.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        if (_platform is not null)
        {
            await ((IAsyncLifetime)_platform).DisposeAsync();
        }
    }

    [Fact]
    public async Task SciScriptStyleCalls_UploadListDownloadMoveDelete_Work()
    {
        var platform = _platform!;
        var name = PlatformFactory.UniqueName("py");
        var token = await platform.CreateUserAsync(name);
        var work = Directory.CreateTempSubdirectory("oss-py-");
        try
        {
            var script = Path.Combine(work.FullName, "files.py");
            await File.WriteAllTextAsync(script, Script);
            var big = Path.Combine(work.FullName, "big.bin");
            await using (var f = File.Create(big))
            {
                // Past Kestrel's default 30 MB request limit: uploads have none.
                f.SetLength(31_000_000);
            }

            var (exit, output) = await RunAsync("/usr/bin/python3" /* Debian's, with python3-requests (./test.sh installs it) */, script, $"http://127.0.0.1:{platform.KestrelPort}", token, name, big);

            Assert.True(exit == 0, output);
            Assert.Contains("SCISCRIPT-FILES-OK", output, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(platform.DataDirectory, "volumes", "Storage", name, "persistent", "results", "big.bin")));
            Assert.Equal("hello from python", await File.ReadAllTextAsync(Path.Combine(platform.DataDirectory, "volumes", "Temporary", name, "scratch", "results", "moved.txt")));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<(int Exit, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
