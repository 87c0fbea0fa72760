using System.ComponentModel;
using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Files;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Compat;

// SciServer's file service shapes (RACM STOREM's FileServiceModel, the file service's FileTree and quota
// records), as SciScript's Files module reads them. Names are pinned, whatever the serializer's policy.

public sealed record FileServiceInfo(
    [property: JsonPropertyName("identifier")] string Identifier,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("apiEndpoint")] string ApiEndpoint);

public sealed record FileServiceVolumes(
    [property: JsonPropertyName("identifier")] string Identifier,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("apiEndpoint")] string ApiEndpoint,
    [property: JsonPropertyName("rootVolumes")] IReadOnlyList<FileServiceRootVolume> RootVolumes,
    [property: JsonPropertyName("dataVolumes")] IReadOnlyList<FileServiceDataVolume> DataVolumes);

public sealed record FileServiceRootVolume(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("resourceUUID")] string ResourceUuid,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("pathOnFileSystem")] string PathOnFileSystem,
    [property: JsonPropertyName("containsSharedVolumes")] bool ContainsSharedVolumes,
    [property: JsonPropertyName("allowedActions")] IReadOnlyList<string> AllowedActions,
    [property: JsonPropertyName("userVolumes")] IReadOnlyList<FileServiceUserVolume> UserVolumes);

public sealed record FileServiceUserVolume(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("resourceUUID")] string ResourceUuid,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("relativePath")] string RelativePath,
    [property: JsonPropertyName("owner")] string Owner,
    [property: JsonPropertyName("allowedActions")] IReadOnlyList<string> AllowedActions,
    [property: JsonPropertyName("sharedWith")] IReadOnlyList<FileServiceSharedWith> SharedWith);

public sealed record FileServiceDataVolume(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("resourceUUID")] string ResourceUuid,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("displayName")] string DisplayName,
    [property: JsonPropertyName("pathOnFileSystem")] string PathOnFileSystem,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("writable")] bool Writable,
    [property: JsonPropertyName("allowedActions")] IReadOnlyList<string> AllowedActions,
    [property: JsonPropertyName("sharedWith")] IReadOnlyList<FileServiceSharedWith> SharedWith);

/// <summary>Who a volume is shared with: <c>type</c> is USER or GROUP; <c>id</c> is this server's user id (a UUID) or group id.</summary>
public sealed record FileServiceSharedWith(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("allowedActions")] IReadOnlyList<string> AllowedActions);

/// <summary>The answer of <c>api/jsontree</c>: the folder and the path asked for.</summary>
public sealed record FileServiceTree(
    [property: JsonPropertyName("root")] FileServiceTreeFolder Root,
    [property: JsonPropertyName("queryPath")] string QueryPath);

/// <summary>A folder; <c>folders</c> and <c>files</c> are left out when empty, as SciServer does.</summary>
public sealed record FileServiceTreeFolder(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("lastModified")] string LastModified,
    [property: JsonPropertyName("creationTime")] string CreationTime,
    [property: JsonPropertyName("folders"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<FileServiceTreeFolder>? Folders,
    [property: JsonPropertyName("files"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<FileServiceTreeFile>? Files);

public sealed record FileServiceTreeFile(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("lastModified")] string LastModified,
    [property: JsonPropertyName("creationTime")] string CreationTime);

/// <summary>A user's quota in one root volume (SciServer's per-user quota record); an unlimited dimension is left out.</summary>
public sealed record FileServiceUsage(
    [property: JsonPropertyName("rootVolumeId")] long RootVolumeId,
    [property: JsonPropertyName("rootVolumeName")] string RootVolumeName,
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("numberOfFilesUsed")] long NumberOfFilesUsed,
    [property: JsonPropertyName("numberOfFilesQuota"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? NumberOfFilesQuota,
    [property: JsonPropertyName("numberOfBytesUsed")] long NumberOfBytesUsed,
    [property: JsonPropertyName("numberOfBytesQuota"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? NumberOfBytesQuota);

/// <summary>PUT api/volume: an optional description.</summary>
public sealed record FileServiceVolumeRequest([property: JsonPropertyName("description")] string? Description = null);

/// <summary>PUT api/data: where to move or copy to: a user volume (root, owner, volume) or a data volume, and the path inside it.</summary>
public sealed record FileServiceMoveRequest(
    [property: JsonPropertyName("destinationPath")] string? DestinationPath = null,
    [property: JsonPropertyName("destinationFileService")] string? DestinationFileService = null,
    [property: JsonPropertyName("destinationRootVolume")] string? DestinationRootVolume = null,
    [property: JsonPropertyName("destinationUserVolume")] string? DestinationUserVolume = null,
    [property: JsonPropertyName("destinationOwnerName")] string? DestinationOwnerName = null,
    [property: JsonPropertyName("destinationDataVolume")] string? DestinationDataVolume = null);

/// <summary>PATCH api/share: one principal and the actions it gets (an empty list stops sharing).</summary>
public sealed record FileServiceShareEntry(
    [property: JsonPropertyName("name")] string? Name = null,
    [property: JsonPropertyName("type")] string? Type = null,
    [property: JsonPropertyName("allowedActions")] IReadOnlyList<string>? AllowedActions = null);

/// <summary>
/// SciServer's file service (<c>/fileservice/api/...</c>) and its discovery in RACM STOREM
/// (<c>/racm/storem/fileservices</c>), adapters onto <see cref="VolumeService"/>, <see cref="FileService"/>,
/// <see cref="QuotaService"/> and <see cref="AccessService"/>. Booleans are read as Python writes them
/// (True/False, any case); defaults are the real server's (quiet, doCopy and replaceExisting false).
/// </summary>
public static class FileServiceEndpoints
{
    public const string Prefix = "/fileservice";

    /// <summary>This server's one file service: its RACM identifier never changes.</summary>
    public const string Identifier = "6f1c3a52-0e7d-4d4b-9a51-0c55f11e5e21";

    public const string Name = "OpenSciServer";

    private const string ServiceDescription = "The file service of this OpenSciServer: root volumes with your user volumes, and data volumes.";

    private const int MaxEchoLength = 64;

    private static readonly IReadOnlyList<string> RootVolumeActions = ["create"];

    public static IEndpointRouteBuilder MapFileServiceEndpoints(this IEndpointRouteBuilder app)
    {
        var storem = app.MapGroup("/racm/storem").WithTags("SciServer: Files").RequireAuthorization().RequireCors(PlatformCors.Api);
        storem.MapGet("/fileservices", (HttpRequest request, IOptions<PlatformOptions> options) =>
                TypedResults.Ok<IReadOnlyList<FileServiceInfo>>([new FileServiceInfo(Identifier, Name, ServiceDescription, ApiEndpoint(request, options))]))
            .WithName("FileServiceDiscovery").WithSummary("The file services you can use (RACM STOREM): this server's one, with its apiEndpoint.");

        var fs = app.MapGroup(Prefix + "/api").WithTags("SciServer: Files").RequireAuthorization().RequireCors(PlatformCors.Api);
        // Routing ignores a trailing slash: "api/volumes/" (as SciScript asks) is the same route.
        fs.MapGet("/volumes", VolumesAsync).WithName("FileServiceVolumes")
            .WithSummary("Root volumes with your user volumes and those shared with you, and the data volumes you may read.");
        fs.MapPut("/volume/{root}/{owner}/{volume}", CreateVolumeAsync).WithName("FileServiceCreateVolume")
            .WithSummary("Create one of your user volumes; optional JSON {description}. quiet=True accepts an existing one.");
        fs.MapDelete("/volume/{root}/{owner}/{volume}", DeleteVolumeAsync).WithName("FileServiceDeleteVolume")
            .WithSummary("Delete one of your user volumes with all its files. quiet=True accepts a missing one.");
        fs.MapPut("/folder/{**path}", CreateFolderAsync).WithName("FileServiceCreateFolder")
            .WithSummary("Create a folder (and missing parents). quiet=True accepts an existing one.");
        fs.MapPut("/file/{**path}", UploadAsync).WithName("FileServiceUpload")
            .WithSummary("Upload a file: the raw body, streamed, no size limit but the quota. quiet=False (the default) refuses to replace a file (409); the reply's ETag is the new file's.");
        fs.MapMethods("/file/{**path}", [HttpMethods.Get, HttpMethods.Head], DownloadAsync).WithName("FileServiceDownload")
            .WithSummary("Download a file; Range, If-None-Match and HEAD supported. inline=True shows inert types (text, images, PDF) in the browser.");
        fs.MapGet("/jsontree/{**path}", TreeAsync).WithName("FileServiceJsonTree")
            .WithSummary("A folder as a tree: level=1 is the folder alone, 2 adds its entries, and so on; options=<glob> filters files by name.");
        fs.MapPut("/data/{**path}", MoveAsync).WithName("FileServiceMoveOrCopy")
            .WithSummary("Move (doCopy=False, the default) or copy (doCopy=True) a file or folder to the place the JSON body names; replaceExisting=True replaces a file there.");
        fs.MapDelete("/data/{**path}", DeleteAsync).WithName("FileServiceDelete")
            .WithSummary("Delete a file, or a folder with everything in it. quiet=True accepts a missing one.");
        fs.MapPatch("/share/{root}/{owner}/{volume}", ShareAsync).WithName("FileServiceShare")
            .WithSummary("Share a user volume: a JSON list of {name, type: USER|GROUP, allowedActions: [read, write, delete, grant]}; an empty list of actions stops sharing.");
        fs.MapGet("/usage", UsageAsync).WithName("FileServiceUsage")
            .WithSummary("Your use of each root volume that has a quota: files and bytes used and allowed.");
        return app;
    }

    private static string ApiEndpoint(HttpRequest request, IOptions<PlatformOptions> options) =>
        SciScriptConfig.BaseUrl(request, options) + Prefix + "/";

    private static async Task<Ok<FileServiceVolumes>> VolumesAsync(
        HttpRequest request, IOptions<PlatformOptions> options, ClaimsPrincipal user, VolumeService volumes, AccessService access, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var apiEndpoint = ApiEndpoint(request, options);
        // Owned first (this also creates the default volumes), then those shared with the caller.
        var reachable = (await volumes.OwnedAsync(caller, ct)).Concat(await volumes.SharedWithAsync(caller, ct)).ToList();
        var roots = new List<FileServiceRootVolume>();
        for (var i = 0; i < volumes.Roots.Count; i++)
        {
            var root = volumes.Roots[i];
            var userVolumes = new List<FileServiceUserVolume>();
            foreach (var v in reachable.Where(v => v.RootVolume == root.Name))
            {
                userVolumes.Add(new FileServiceUserVolume(v.Id, v.ResourceId.ToString(), v.Name, v.Description, $"{v.Owner}/{v.Name}/", v.Owner,
                    ResourceTypes.Names(v.Actions), await SharedWithAsync(caller, v.ResourceId, v.Actions, access, ct)));
            }

            roots.Add(new FileServiceRootVolume(RootVolumeId(i), RootVolumeUuid(root.Name), root.Name, root.Description, "/" + root.Name,
                ContainsSharedVolumes: true, RootVolumeActions, userVolumes));
        }

        var dataVolumes = new List<FileServiceDataVolume>();
        foreach (var d in await volumes.DataVolumesAsync(caller, ct))
        {
            // Never the folder on the server: the logical path and the listing URL only.
            dataVolumes.Add(new FileServiceDataVolume(d.Id, d.ResourceId.ToString(), d.Name, d.Description, d.DisplayName, "/" + d.Name,
                apiEndpoint + "api/jsontree/" + Uri.EscapeDataString(d.Name), d.Writable && d.Actions.HasFlag(ResourceActions.Write),
                ResourceTypes.Names(d.Actions), await SharedWithAsync(caller, d.ResourceId, d.Actions, access, ct)));
        }

        return TypedResults.Ok(new FileServiceVolumes(Identifier, Name, ServiceDescription, apiEndpoint, roots, dataVolumes));
    }

    /// <summary>Who else holds actions on a volume: shown to those who may share it, an empty list to others.</summary>
    private static async Task<IReadOnlyList<FileServiceSharedWith>> SharedWithAsync(Caller caller, Guid resourceId, ResourceActions held, AccessService access, CancellationToken ct)
    {
        if (!held.HasFlag(ResourceActions.Grant) || await access.FindAsync(resourceId, ct) is not { } resource)
        {
            return [];
        }

        return (await access.PrivilegesAsync(caller, resource, ct))
            .Select(p => new FileServiceSharedWith(
                p.Kind == PrincipalKind.User ? p.UserId?.ToString() ?? "" : p.GroupId?.ToString(CultureInfo.InvariantCulture) ?? "",
                p.Name, PrincipalName(p.Kind), ResourceTypes.Names(p.Actions)))
            .ToList();
    }

    private static async Task<Ok> CreateVolumeAsync(
        string root, string owner, string volume, [Description("True: an existing volume is no error.")] string? quiet,
        [FromBody(EmptyBodyBehavior = EmptyBodyBehavior.Allow)] FileServiceVolumeRequest? body,
        ClaimsPrincipal user, VolumeService volumes, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var isQuiet = Flag(quiet, "quiet");
        if (!string.Equals(owner, caller.UserName, StringComparison.Ordinal))
        {
            throw PlatformException.Forbidden($"You can create user volumes under your own name only: {root}/{caller.UserName}/{volume}.");
        }

        try
        {
            await volumes.CreateAsync(caller, root, volume, body?.Description, ct);
        }
        catch (PlatformException e) when (e.Kind == ProblemKind.Conflict && isQuiet)
        {
            // quiet: the volume exists, as asked.
        }

        return TypedResults.Ok();
    }

    private static async Task<Ok> DeleteVolumeAsync(
        string root, string owner, string volume, [Description("True: a missing volume is no error.")] string? quiet,
        ClaimsPrincipal user, VolumeService volumes, CancellationToken ct)
    {
        var caller = Caller.From(user);
        // quiet covers only the caller's own missing volume: for others' the 404 stays, so nobody is told a delete worked.
        var isQuiet = Flag(quiet, "quiet") && string.Equals(owner, caller.UserName, StringComparison.Ordinal);
        try
        {
            await volumes.DeleteAsync(caller, root, owner, volume, ct);
        }
        catch (PlatformException e) when (e.Kind == ProblemKind.NotFound && isQuiet)
        {
        }

        return TypedResults.Ok();
    }

    private static async Task<Ok> CreateFolderAsync(
        string? path, [Description("True: an existing folder is no error.")] string? quiet, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        var mustBeNew = !Flag(quiet, "quiet");
        files.CreateFolder(await files.ResolveAsync(Caller.From(user), path, ResourceActions.Write, ct), mustBeNew);
        return TypedResults.Ok();
    }

    private static async Task<Ok> UploadAsync(
        string? path, [Description("True replaces an existing file; False (the default) answers 409 if it exists.")] string? quiet,
        HttpContext context, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        var overwrite = Flag(quiet, "quiet");
        var location = await files.ResolveAsync(Caller.From(user), path, ResourceActions.Write, ct);
        // Streamed to disk: no request size limit, only the quota.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }

        await files.UploadAsync(location, context.Request.Body, context.Request.ContentLength, overwrite, ct);
        context.Response.Headers.ETag = new EntityTagHeaderValue(files.ETagOf(location)).ToString();
        return TypedResults.Ok();
    }

    private static async Task<IResult> DownloadAsync(
        string? path, [Description("True: show text, images and PDF in the browser; everything else is an attachment.")] string? inline,
        HttpContext context, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        var show = Flag(inline, "inline");
        var location = await files.ResolveAsync(Caller.From(user), path, ResourceActions.Read, ct);
        return FileEndpoints.FileResult(context, files.OpenRead(location), show);
    }

    private static async Task<Ok<FileServiceTree>> TreeAsync(
        string? path, [Description("Levels listed, the folder itself being level 1; all when left out.")] string? level,
        [Description("A glob on file names, such as *.csv.")] string? options, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        var depth = Level(level) - 1;
        var location = await files.ResolveAsync(Caller.From(user), path, ResourceActions.Read, ct);
        var tree = files.Tree(location, depth, FilePattern(options));
        // As SciServer writes it: the volume's own folder ends in a slash.
        var queryPath = location.Name is null ? location.Display + "/" : location.Display;
        return TypedResults.Ok(new FileServiceTree(ToTree(tree), queryPath));
    }

    private static async Task<Ok> MoveAsync(
        string? path, [Description("True copies, False (the default) moves.")] string? doCopy,
        [Description("True replaces a file of the same name at the destination.")] string? replaceExisting,
        FileServiceMoveRequest? body, ClaimsPrincipal user, VolumeService volumes, FileService files, CancellationToken ct)
    {
        var copy = Flag(doCopy, "doCopy");
        var replace = Flag(replaceExisting, "replaceExisting");
        var caller = Caller.From(user);
        var destination = DestinationPath(body, volumes);
        // Moving takes the entry away from its place: that is deleting there. Copying only reads it.
        var from = await files.ResolveAsync(caller, path, copy ? ResourceActions.Read : ResourceActions.Delete, ct);
        var to = await files.ResolveAsync(caller, destination, ResourceActions.Write, ct);
        await files.TransferAsync(from, to, copy, replace, ct);
        return TypedResults.Ok();
    }

    private static async Task<Ok> DeleteAsync(
        string? path, [Description("True: a missing file or folder is no error.")] string? quiet, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        var isQuiet = Flag(quiet, "quiet");
        // Resolved first: a volume the caller cannot reach stays a 404 even when quiet.
        var location = await files.ResolveAsync(Caller.From(user), path, ResourceActions.Delete, ct);
        try
        {
            files.Delete(location);
        }
        catch (PlatformException e) when (e.Kind == ProblemKind.NotFound && isQuiet)
        {
        }

        return TypedResults.Ok();
    }

    private static async Task<Ok> ShareAsync(
        string root, string owner, string volume, List<FileServiceShareEntry?>? body,
        ClaimsPrincipal user, FileService files, AccessService access, CancellationToken ct)
    {
        if (body is null)
        {
            throw PlatformException.Invalid("Send a JSON list: [{\"name\": \"bob\", \"type\": \"USER\", \"allowedActions\": [\"read\"]}].");
        }

        // Every entry is read before anything changes.
        var changes = body.Select(ParseShare).ToList();
        var caller = Caller.From(user);
        var location = await files.ResolveAsync(caller, $"{SingleName(root)}/{SingleName(owner)}/{SingleName(volume)}", ResourceActions.Read, ct);
        var notFound = $"There is no volume '{root}/{owner}/{volume}' that you can reach.";
        var key = location.UserVolume?.ResourceKey ?? throw PlatformException.NotFound(notFound);
        var resource = await access.FindAsync(ResourceTypes.UserVolume, key, ct) ?? throw PlatformException.NotFound(notFound);
        foreach (var (kind, name, actions) in changes)
        {
            await access.SetPrivilegeAsync(caller, resource, kind, name, actions, ct);
        }

        return TypedResults.Ok();
    }

    private static async Task<Ok<List<FileServiceUsage>>> UsageAsync(ClaimsPrincipal user, VolumeService volumes, QuotaService quotas, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var usage = await quotas.UsageAsync(caller, ct);
        var records = new List<FileServiceUsage>();
        for (var i = 0; i < volumes.Roots.Count; i++)
        {
            // As SciServer: only root volumes with a quota are listed.
            if (usage.FirstOrDefault(u => u.RootVolume == volumes.Roots[i].Name) is { } u && (u.BytesQuota is not null || u.FilesQuota is not null))
            {
                records.Add(new FileServiceUsage(RootVolumeId(i), u.RootVolume, caller.UserName, u.FilesUsed, u.FilesQuota, u.BytesUsed, u.BytesQuota));
            }
        }

        return TypedResults.Ok(records);
    }

    /// <summary>
    /// The destination of a move or copy as a path, from the body's parts. Each volume part is one name;
    /// <c>destinationPath</c> is relative to the volume: an absolute path is refused, not re-rooted.
    /// </summary>
    private static string DestinationPath(FileServiceMoveRequest? body, VolumeService volumes)
    {
        if (body is null)
        {
            throw PlatformException.Invalid("Send the destination as JSON: {\"destinationPath\", \"destinationRootVolume\", \"destinationOwnerName\", \"destinationUserVolume\"} or {\"destinationPath\", \"destinationDataVolume\"}.");
        }

        if (!string.IsNullOrEmpty(body.DestinationFileService) && body.DestinationFileService != Name && body.DestinationFileService != Identifier)
        {
            throw PlatformException.Invalid($"Moving or copying to another file service ('{Echo(body.DestinationFileService)}') is not supported; this one is '{Name}'.", "destinationFileService");
        }

        var relative = body.DestinationPath;
        if (string.IsNullOrWhiteSpace(relative))
        {
            throw PlatformException.Invalid("destinationPath names the file or folder to create, relative to the destination volume.", "destinationPath");
        }

        if (relative.StartsWith('/') || relative.StartsWith('\\') || (relative.Length > 1 && relative[1] == ':'))
        {
            throw PlatformException.Invalid($"destinationPath is relative to the destination volume; '{Echo(relative)}' is absolute.", "destinationPath");
        }

        if (body.DestinationRootVolume is { } root)
        {
            if (body.DestinationDataVolume is not null)
            {
                throw PlatformException.Invalid("Give destinationRootVolume or destinationDataVolume, not both.", "destinationDataVolume");
            }

            if (string.IsNullOrEmpty(body.DestinationOwnerName) || string.IsNullOrEmpty(body.DestinationUserVolume))
            {
                throw PlatformException.Invalid("A destination in a root volume also names destinationOwnerName and destinationUserVolume.", "destinationUserVolume");
            }

            var rootName = volumes.Root(SingleName(root)).Name;
            return $"{rootName}/{SingleName(body.DestinationOwnerName)}/{SingleName(body.DestinationUserVolume)}/{relative}";
        }

        if (body.DestinationDataVolume is { } data)
        {
            if (volumes.Roots.Any(r => r.Name == data))
            {
                throw PlatformException.Invalid($"'{data}' is a root volume: give it as destinationRootVolume with destinationOwnerName and destinationUserVolume.", "destinationDataVolume");
            }

            return $"{SingleName(data)}/{relative}";
        }

        throw PlatformException.Invalid("Name the destination volume: destinationRootVolume (with destinationOwnerName and destinationUserVolume) or destinationDataVolume.", "destinationRootVolume");
    }

    /// <summary>A volume, owner or root name: one name, never a path.</summary>
    private static string SingleName(string name) => VolumePaths.CheckName(name);

    private static (PrincipalKind Kind, string Name, ResourceActions Actions) ParseShare(FileServiceShareEntry? entry)
    {
        if (entry is null || string.IsNullOrWhiteSpace(entry.Name))
        {
            throw PlatformException.Invalid("Each entry names a user or group: {\"name\": \"bob\", \"type\": \"USER\", \"allowedActions\": [\"read\"]}.", "name");
        }

        var kind = entry.Type?.Trim().ToUpperInvariant() switch
        {
            null or "" or "USER" => PrincipalKind.User,
            "GROUP" => PrincipalKind.Group,
            _ => throw PlatformException.Invalid($"type is USER or GROUP; '{Echo(entry.Type!)}' is not.", "type"),
        };
        if (entry.AllowedActions is null)
        {
            throw PlatformException.Invalid("allowedActions lists what the user or group may do (read, write, delete, grant); [] stops sharing.", "allowedActions");
        }

        return (kind, entry.Name.Trim(), ResourceTypes.Parse(ResourceTypes.UserVolume, entry.AllowedActions));
    }

    /// <summary>Python writes True and False; any case is read, and a missing value is False, as on SciServer.</summary>
    private static bool Flag(string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        return bool.TryParse(value.Trim(), out var flag)
            ? flag
            : throw PlatformException.Invalid($"{name} is True or False; '{Echo(value)}' is not.", name);
    }

    private static int Level(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return int.MaxValue;
        }

        return int.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var level) && level >= 1
            ? level
            : throw PlatformException.Invalid($"level is a whole number, 1 or more (1 is the folder itself); '{Echo(value)}' is not.", "level");
    }

    /// <summary>
    /// SciServer matches its glob against whole paths, so clients write <c>**.csv</c> or <c>**/*.csv</c>;
    /// here the pattern applies to file names, and such a leading <c>**</c> part is dropped.
    /// </summary>
    private static string? FilePattern(string? options)
    {
        if (string.IsNullOrWhiteSpace(options))
        {
            return null;
        }

        var pattern = options.Trim();
        var slash = pattern.LastIndexOf('/');
        pattern = slash >= 0 ? pattern[(slash + 1)..] : pattern;
        while (pattern.StartsWith("**", StringComparison.Ordinal))
        {
            pattern = pattern[1..];
        }

        return pattern.Length == 0 ? null : pattern;
    }

    private static FileServiceTreeFolder ToTree(FolderTree tree) => new(
        tree.Folder.Name, Iso(tree.Folder.LastModified), Iso(tree.Folder.Created),
        tree.Folders.Count == 0 ? null : tree.Folders.Select(ToTree).ToList(),
        tree.Files.Count == 0 ? null : tree.Files.Select(f => new FileServiceTreeFile(f.Name, f.Size, Iso(f.LastModified), Iso(f.Created))).ToList());

    // ISO 8601 in UTC, as Java's FileTime writes it: 2026-11-25T17:00:00.123456Z.
    private static string Iso(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    // Root volumes live in configuration, not the database: numbered in their configured order.
    private static long RootVolumeId(int index) => index + 1;

    private static string RootVolumeUuid(string rootName) =>
        new Guid(SHA256.HashData(Encoding.UTF8.GetBytes("oss-root-volume/" + rootName)).AsSpan(0, 16)).ToString();

    private static string PrincipalName(PrincipalKind kind) => kind switch
    {
        PrincipalKind.User => "USER",
        PrincipalKind.Group => "GROUP",
    };

    private static string Echo(string value) => value.Length <= MaxEchoLength ? value : value[..MaxEchoLength] + "...";
}
