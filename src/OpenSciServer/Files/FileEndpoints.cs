using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Files;

public sealed record CreateVolumeRequest(string? RootVolume, string? Name, string? Description);

public sealed record UpdateVolumeRequest(string? Name, string? Description);

public sealed record TransferRequest(string? From, string? To, bool? Replace);

public sealed record RegisterDataVolumeRequest(string? Name, string? Path, string? DisplayName, string? Description, bool? Writable);

public sealed record QuotaRequest(long? QuotaBytes, long? QuotaFiles);

public sealed record RootVolumeResponse(string Name, string Description, int? PurgeAfterDays, QuotaUsage Usage);

public sealed record VolumeResponse(Guid ResourceId, string RootVolume, string Owner, string Name, string Path, string Description, DateTimeOffset CreatedAt, IReadOnlyList<string> Actions)
{
    public static VolumeResponse From(UserVolumeInfo v) =>
        new(v.ResourceId, v.RootVolume, v.Owner, v.Name, $"{v.RootVolume}/{v.Owner}/{v.Name}", v.Description, v.CreatedAt, ResourceTypes.Names(v.Actions));
}

public sealed record DataVolumeResponse(Guid ResourceId, string Name, string DisplayName, string Description, bool Writable, IReadOnlyList<string> Actions)
{
    public static DataVolumeResponse From(DataVolumeInfo d) => new(d.ResourceId, d.Name, d.DisplayName, d.Description, d.Writable, ResourceTypes.Names(d.Actions));
}

public sealed record VolumesResponse(IReadOnlyList<RootVolumeResponse> RootVolumes, IReadOnlyList<VolumeResponse> Mine, IReadOnlyList<VolumeResponse> SharedWithMe, IReadOnlyList<DataVolumeResponse> DataVolumes);

public sealed record PreviewResponse(string Kind, string ContentType, string? Text, bool Truncated, IReadOnlyList<FitsCard>? FitsHeader);

/// <summary>
/// The native file API (<c>/api/files</c>). Paths are <c>Root/owner/volume/...</c> or
/// <c>DataVolume/...</c>, as in SciServer. The SciServer FileService routes adapt the same services.
/// </summary>
public static class FileEndpoints
{
    private const int PreviewBytes = 256 * 1024;

    // Shown in the browser only where no script can run in them; everything else is an attachment.
    private static readonly HashSet<string> InlineTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "text/plain", "text/csv", "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "application/json",
    };

    public static IEndpointRouteBuilder MapFileEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/files").WithTags("Files").RequireAuthorization().RequireCors(PlatformCors.Api);
        api.MapGet("/volumes", VolumesAsync).WithName("ListVolumes").WithSummary("Your volumes, volumes shared with you, data volumes, and your quotas.");
        api.MapPost("/volumes", CreateVolumeAsync).WithName("CreateVolume").WithSummary("Create a user volume in a root volume.");
        api.MapPatch("/volumes/{root}/{owner}/{name}", UpdateVolumeAsync).WithName("UpdateVolume").WithSummary("Rename or describe one of your volumes.");
        api.MapDelete("/volumes/{root}/{owner}/{name}", DeleteVolumeAsync).WithName("DeleteVolume").WithSummary("Delete one of your volumes with all its files.");
        api.MapGet("/usage", UsageAsync).WithName("GetUsage").WithSummary("Your usage and quota per root volume.");
        api.MapGet("/list/{**path}", ListAsync).WithName("ListFolder").WithSummary("A folder's entries, folders first; paged with offset and limit.");
        api.MapGet("/stat/{**path}", StatAsync).WithName("StatEntry").WithSummary("One file or folder.");
        api.MapPut("/folder/{**path}", CreateFolderAsync).WithName("CreateFolder").WithSummary("Create a folder (and missing parents).");
        api.MapPut("/content/{**path}", UploadAsync).WithName("UploadFile")
            .WithSummary("Upload a file: the raw body, streamed. With Content-Range: bytes S-E/T, one chunk of a resumable upload.")
            .WithDescription("overwrite=false refuses to replace an existing file (409). A resumable upload answers 202 with the bytes received until the last chunk; a chunk that does not start where the upload stands answers 416 with an Upload-Offset header.");
        api.MapGet("/upload-status/{**path}", UploadStatusAsync).WithName("UploadStatus").WithSummary("How many bytes of a resumable upload of size bytes have arrived.");
        api.MapDelete("/upload-status/{**path}", DiscardUploadAsync).WithName("DiscardUpload")
            .WithSummary("Forget an unfinished resumable upload of size bytes, so a new one starts at byte 0.");
        api.MapMethods("/content/{**path}", [HttpMethods.Get, HttpMethods.Head], DownloadAsync).WithName("DownloadFile")
            .WithSummary("Download a file; supports Range, If-None-Match and HEAD. inline=true shows safe types in the browser.");
        api.MapDelete("/entry/{**path}", DeleteAsync).WithName("DeleteEntry").WithSummary("Delete a file, or a folder with everything in it.");
        api.MapPost("/move", (TransferRequest r, ClaimsPrincipal u, FileService f, CancellationToken ct) => TransferAsync(r, copy: false, u, f, ct))
            .WithName("MoveEntry").WithSummary("Move or rename a file or folder.");
        api.MapPost("/copy", (TransferRequest r, ClaimsPrincipal u, FileService f, CancellationToken ct) => TransferAsync(r, copy: true, u, f, ct))
            .WithName("CopyEntry").WithSummary("Copy a file or folder.");
        api.MapGet("/zip/{**path}", ZipAsync).WithName("DownloadZip").WithSummary("Download a folder as a zip, streamed.");
        api.MapGet("/preview/{**path}", PreviewAsync).WithName("PreviewFile").WithSummary("The start of a text or CSV file, or a FITS file's header.");

        var admin = app.MapGroup("/api/admin").WithTags("Admin").RequireAuthorization(PlatformAuth.AdminPolicy).RequireCors(PlatformCors.Api);
        admin.MapGet("/data-volumes", async (ClaimsPrincipal u, VolumeService v, CancellationToken ct) =>
                TypedResults.Ok((await v.DataVolumesAsync(Caller.From(u), ct)).Select(DataVolumeResponse.From).ToList()))
            .WithName("ListDataVolumes").WithSummary("Every data volume.");
        admin.MapPost("/data-volumes", RegisterDataVolumeAsync).WithName("RegisterDataVolume")
            .WithSummary("Publish an existing folder (inside Files:DataVolumesPath) as a data volume; read-only unless writable.");
        admin.MapDelete("/data-volumes/{name}", async (string name, ClaimsPrincipal u, VolumeService v, CancellationToken ct) =>
            {
                await v.UnregisterDataVolumeAsync(Caller.From(u), name, ct);
                return TypedResults.NoContent();
            })
            .WithName("UnregisterDataVolume").WithSummary("Remove a data volume (its folder stays on disk).");
        admin.MapPut("/quotas/{userId:guid}/{root}", async (Guid userId, string root, QuotaRequest r, ClaimsPrincipal u, QuotaService q, CancellationToken ct) =>
            {
                await q.SetOverrideAsync(Caller.From(u), userId, root, r.QuotaBytes, r.QuotaFiles, ct);
                return TypedResults.NoContent();
            })
            .WithName("SetQuota").WithSummary("Set a user's quota in a root volume; nulls restore the default.");
        return app;
    }

    private static async Task<Ok<VolumesResponse>> VolumesAsync(ClaimsPrincipal user, VolumeService volumes, QuotaService quotas, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var mine = await volumes.OwnedAsync(caller, ct);
        var usage = await quotas.UsageAsync(caller, ct);
        return TypedResults.Ok(new VolumesResponse(
            volumes.Roots.Select(r => new RootVolumeResponse(r.Name, r.Description, r.PurgeAfterDays, usage.First(u => u.RootVolume == r.Name))).ToList(),
            mine.Select(VolumeResponse.From).ToList(),
            (await volumes.SharedWithAsync(caller, ct)).Select(VolumeResponse.From).ToList(),
            (await volumes.DataVolumesAsync(caller, ct)).Select(DataVolumeResponse.From).ToList()));
    }

    private static async Task<Created<VolumeResponse>> CreateVolumeAsync(CreateVolumeRequest request, ClaimsPrincipal user, VolumeService volumes, CancellationToken ct)
    {
        var created = await volumes.CreateAsync(Caller.From(user), request.RootVolume, request.Name, request.Description, ct);
        return TypedResults.Created($"/api/files/list/{created.RootVolume}/{created.Owner}/{created.Name}", VolumeResponse.From(created));
    }

    private static async Task<Ok<VolumeResponse>> UpdateVolumeAsync(string root, string owner, string name, UpdateVolumeRequest request, ClaimsPrincipal user, VolumeService volumes, CancellationToken ct) =>
        TypedResults.Ok(VolumeResponse.From(await volumes.UpdateAsync(Caller.From(user), root, owner, name, request.Name, request.Description, ct)));

    private static async Task<NoContent> DeleteVolumeAsync(string root, string owner, string name, ClaimsPrincipal user, VolumeService volumes, CancellationToken ct)
    {
        await volumes.DeleteAsync(Caller.From(user), root, owner, name, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<IReadOnlyList<QuotaUsage>>> UsageAsync(ClaimsPrincipal user, QuotaService quotas, CancellationToken ct) =>
        TypedResults.Ok(await quotas.UsageAsync(Caller.From(user), ct));

    private static async Task<Ok<FolderListing>> ListAsync(string? path, int? offset, int? limit, string? pattern, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        var location = await files.ResolveAsync(Caller.From(user), path, ResourceActions.Read, ct);
        return TypedResults.Ok(files.List(location, offset ?? 0, limit ?? 1000, pattern));
    }

    private static async Task<Ok<FileEntry>> StatAsync(string? path, ClaimsPrincipal user, FileService files, CancellationToken ct) =>
        TypedResults.Ok(files.Stat(await files.ResolveAsync(Caller.From(user), path, ResourceActions.Read, ct)));

    private static async Task<Ok<FileEntry>> CreateFolderAsync(string? path, ClaimsPrincipal user, FileService files, CancellationToken ct) =>
        TypedResults.Ok(files.CreateFolder(await files.ResolveAsync(Caller.From(user), path, ResourceActions.Write, ct)));

    private static async Task<IResult> UploadAsync(string? path, bool? overwrite, HttpContext context, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        var caller = Caller.From(user);
        var location = await files.ResolveAsync(caller, path, ResourceActions.Write, ct);
        // Uploads are streamed to disk: no request size limit, no buffering.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }

        var range = context.Request.Headers.ContentRange.ToString();
        if (range.Length > 0)
        {
            if (!ContentRangeHeaderValue.TryParse(range, out var parsed) || parsed.From is null || parsed.To is null || parsed.Length is null)
            {
                throw PlatformException.Invalid("Content-Range must read 'bytes START-END/TOTAL'.", "Content-Range");
            }

            var progress = await files.UploadChunkAsync(caller, location, context.Request.Body, parsed.From.Value, parsed.To.Value, parsed.Length.Value, overwrite ?? true, ct);
            context.Response.Headers["Upload-Offset"] = progress.Received.ToString(CultureInfo.InvariantCulture);
            return progress.Complete ? TypedResults.Ok(progress) : TypedResults.Accepted((string?)null, progress);
        }

        var entry = await files.UploadAsync(location, context.Request.Body, context.Request.ContentLength, overwrite ?? true, ct);
        return TypedResults.Ok(entry);
    }

    private static async Task<Ok<UploadProgress>> UploadStatusAsync(string? path, long? size, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        if (size is not > 0)
        {
            throw PlatformException.Invalid("Give the total size of the upload: size=N.", "size");
        }

        var caller = Caller.From(user);
        var location = await files.ResolveAsync(caller, path, ResourceActions.Write, ct);
        var received = files.UploadedSoFar(caller, location, size.Value);
        return TypedResults.Ok(new UploadProgress(received, size.Value, false, null));
    }

    private static async Task<NoContent> DiscardUploadAsync(string? path, long? size, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        if (size is not > 0)
        {
            throw PlatformException.Invalid("Give the total size of the upload: size=N.", "size");
        }

        var caller = Caller.From(user);
        files.DiscardUpload(caller, await files.ResolveAsync(caller, path, ResourceActions.Write, ct), size.Value);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> DownloadAsync(string? path, bool? inline, HttpContext context, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        var location = await files.ResolveAsync(Caller.From(user), path, ResourceActions.Read, ct);
        var file = files.OpenRead(location);
        return FileResult(context, file, inline == true);
    }

    /// <summary>A download answer: Range, ETag and If-None-Match handled; only inert types ever inline.</summary>
    public static IResult FileResult(HttpContext context, OpenedFile file, bool inline)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(file);
        var contentType = file.ContentType.StartsWith("text/", StringComparison.Ordinal) && !file.ContentType.Equals("text/html", StringComparison.OrdinalIgnoreCase)
            && !file.ContentType.Equals("text/javascript", StringComparison.OrdinalIgnoreCase) ? "text/plain; charset=utf-8" : file.ContentType;
        var showInline = inline && InlineTypes.Contains(contentType.Split(';')[0]);
        if (showInline)
        {
            // Even inline, nothing in it may run or reach out.
            context.Response.Headers.ContentSecurityPolicy = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'";
        }

        return new FileDownloadResult(file, showInline ? contentType : "application/octet-stream", showInline ? null : file.Name);
    }

    private static async Task<NoContent> DeleteAsync(string? path, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        files.Delete(await files.ResolveAsync(Caller.From(user), path, ResourceActions.Delete, ct));
        return TypedResults.NoContent();
    }

    private static async Task<Ok<FileEntry>> TransferAsync(TransferRequest request, bool copy, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        var caller = Caller.From(user);
        // Moving takes the file away from its place: that is deleting there. Copying only reads it.
        var from = await files.ResolveAsync(caller, request.From, copy ? ResourceActions.Read : ResourceActions.Delete, ct);
        var to = await files.ResolveAsync(caller, request.To, ResourceActions.Write, ct);
        return TypedResults.Ok(await files.TransferAsync(from, to, copy, request.Replace ?? false, ct));
    }

    private static async Task ZipAsync(string? path, HttpContext context, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        var location = await files.ResolveAsync(Caller.From(user), path, ResourceActions.Read, ct);
        var entry = files.Stat(location);
        if (!entry.IsFolder)
        {
            throw PlatformException.Invalid("Only folders are zipped; download a file as it is.", "path");
        }

        // ZipArchive still writes entry headers synchronously; allow it for this response only.
        if (context.Features.Get<IHttpBodyControlFeature>() is { } bodyControl)
        {
            bodyControl.AllowSynchronousIO = true;
        }

        context.Response.ContentType = "application/zip";
        context.Response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileNameStar = entry.Name + ".zip" }.ToString();
        await files.WriteZipAsync(location, context.Response.Body, ct);
    }

    private static async Task<Ok<PreviewResponse>> PreviewAsync(string? path, ClaimsPrincipal user, FileService files, CancellationToken ct)
    {
        var location = await files.ResolveAsync(Caller.From(user), path, ResourceActions.Read, ct);
        var name = location.Name ?? throw PlatformException.Invalid("Name a file to preview.", "path");
        var type = FileService.ContentTypeOf(name);
        if (type == "application/fits")
        {
            var file = files.OpenRead(location);
            await using var stream = file.Stream;
            return TypedResults.Ok(new PreviewResponse("fits", type, null, false, await FitsHeader.ReadAsync(stream, ct)));
        }

        if (type.StartsWith("image/", StringComparison.Ordinal) && type != "image/svg+xml")
        {
            return TypedResults.Ok(new PreviewResponse("image", type, null, false, null));
        }

        var entry = files.Stat(location);
        var text = await files.ReadTextHeadAsync(location, PreviewBytes, ct);
        var kind = name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? "csv" : "text";
        return TypedResults.Ok(new PreviewResponse(kind, type, text, entry.Size > PreviewBytes, null));
    }

    private static async Task<Created<DataVolumeResponse>> RegisterDataVolumeAsync(RegisterDataVolumeRequest request, ClaimsPrincipal user, VolumeService volumes, CancellationToken ct)
    {
        var dv = await volumes.RegisterDataVolumeAsync(Caller.From(user), request.Name, request.Path, request.DisplayName, request.Description, request.Writable ?? false, ct);
        return TypedResults.Created($"/api/files/list/{dv.Name}", DataVolumeResponse.From(dv));
    }
}
