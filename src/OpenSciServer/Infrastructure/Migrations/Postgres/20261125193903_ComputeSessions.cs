using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace OpenSciServer.Infrastructure.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ComputeSessions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "compute_domains",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Description = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    Backend = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Partition = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    MemoryBytes = table.Column<long>(type: "bigint", nullable: false),
                    Cpus = table.Column<double>(type: "double precision", nullable: false),
                    MaxProcesses = table.Column<int>(type: "integer", nullable: false),
                    MaxSessionsPerUser = table.Column<int>(type: "integer", nullable: false),
                    IdleTimeout = table.Column<TimeSpan>(type: "interval", nullable: false),
                    Lifetime = table.Column<TimeSpan>(type: "interval", nullable: false),
                    MaxLifetime = table.Column<TimeSpan>(type: "interval", nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_compute_domains", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "compute_images",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Description = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    JupyterCommand = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    Kernels = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_compute_images", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "compute_uids",
                columns: table => new
                {
                    UserId = table.Column<Guid>(type: "uuid", nullable: false),
                    Uid = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_compute_uids", x => x.UserId);
                });

            migrationBuilder.CreateTable(
                name: "compute_sessions",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    OwnerId = table.Column<Guid>(type: "uuid", nullable: false),
                    OwnerName = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    DomainId = table.Column<long>(type: "bigint", nullable: false),
                    ImageId = table.Column<long>(type: "bigint", nullable: false),
                    Status = table.Column<int>(type: "integer", nullable: false),
                    StatusReason = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    Generation = table.Column<int>(type: "integer", nullable: false),
                    BackendId = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    UpstreamHost = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true),
                    UpstreamPort = table.Column<int>(type: "integer", nullable: true),
                    JupyterToken = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    PlatformTokenId = table.Column<Guid>(type: "uuid", nullable: true),
                    Uid = table.Column<int>(type: "integer", nullable: true),
                    PlatformUrl = table.Column<string>(type: "character varying(512)", maxLength: 512, nullable: true),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    StartedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    LastActivityAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    ExpiresAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    StoppedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_compute_sessions", x => x.Id);
                    table.ForeignKey(
                        name: "FK_compute_sessions_compute_domains_DomainId",
                        column: x => x.DomainId,
                        principalTable: "compute_domains",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_compute_sessions_compute_images_ImageId",
                        column: x => x.ImageId,
                        principalTable: "compute_images",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_compute_sessions_users_OwnerId",
                        column: x => x.OwnerId,
                        principalTable: "users",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "compute_session_volumes",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    SessionId = table.Column<Guid>(type: "uuid", nullable: false),
                    Kind = table.Column<int>(type: "integer", nullable: false),
                    RootVolume = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    Owner = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Writable = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_compute_session_volumes", x => x.Id);
                    table.ForeignKey(
                        name: "FK_compute_session_volumes_compute_sessions_SessionId",
                        column: x => x.SessionId,
                        principalTable: "compute_sessions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_compute_domains_Name",
                table: "compute_domains",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_compute_images_Name",
                table: "compute_images",
                column: "Name",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_compute_session_volumes_SessionId",
                table: "compute_session_volumes",
                column: "SessionId");

            migrationBuilder.CreateIndex(
                name: "IX_compute_sessions_DomainId",
                table: "compute_sessions",
                column: "DomainId");

            migrationBuilder.CreateIndex(
                name: "IX_compute_sessions_ImageId",
                table: "compute_sessions",
                column: "ImageId");

            migrationBuilder.CreateIndex(
                name: "IX_compute_sessions_OwnerId_Name",
                table: "compute_sessions",
                columns: new[] { "OwnerId", "Name" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_compute_sessions_Status",
                table: "compute_sessions",
                column: "Status");

            migrationBuilder.CreateIndex(
                name: "IX_compute_uids_Uid",
                table: "compute_uids",
                column: "Uid",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "compute_session_volumes");

            migrationBuilder.DropTable(
                name: "compute_uids");

            migrationBuilder.DropTable(
                name: "compute_sessions");

            migrationBuilder.DropTable(
                name: "compute_domains");

            migrationBuilder.DropTable(
                name: "compute_images");
        }
    }
}
